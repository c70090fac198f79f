{
  "targets": [
    {
      "target_name": "carton",
      "sources": ["native/addon/addon.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"]
    },
    {
      "target_name": "carton-init",
      "type": "executable",
      "sources": ["native/init/init.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"],
      "ldflags": ["-static"]
    }
  ]
}
