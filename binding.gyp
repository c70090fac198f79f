{
  "targets": [
    {
      "target_name": "carton",
      "sources": ["native/addon/addon.c", "native/addon/fds.c", "native/addon/bpf.c", "native/addon/errors.c", "native/addon/spawn.c", "native/common/scm.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"]
    },
    {
      "target_name": "carton-init",
      "type": "executable",
      "sources": [
        "native/init/main.c",
        "native/init/protocol.c",
        "native/init/ns.c",
        "native/init/paths.c",
        "native/init/mounts.c",
        "native/init/process.c",
        "native/init/security.c",
        "native/init/exec.c",
        "native/common/scm.c"
      ],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"],
      "ldflags": ["-static"]
    }
  ]
}
