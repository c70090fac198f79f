{
  "targets": [
    {
      "target_name": "carton",
      "sources": ["native/addon/addon.c", "native/addon/fds.c", "native/addon/bpf.c", "native/addon/errors.c", "native/addon/spawn.c", "native/addon/prestart.c", "native/common/scm.c", "native/common/frame.c"],
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
    },
    {
      "target_name": "carton-runtime-cli",
      "type": "executable",
      "sources": ["native/client/main.c", "native/common/frame.c", "native/common/scm.c"],
      "defines": ["CARTON_CLI_RUNTIME"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"],
      "ldflags": ["-static"]
    },
    {
      "target_name": "carton-cli",
      "type": "executable",
      "sources": ["native/client/main.c", "native/common/frame.c", "native/common/scm.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"],
      "ldflags": ["-static"]
    }
  ]
}
