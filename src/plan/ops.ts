/**
 * The contract between TypeScript (which decides) and the native init (which does).
 *
 * A plan is an ordered list of primitive operations. The init executes them one
 * after another, in the order given, and stops at the first failure, reporting
 * (op index, errno, message). TypeScript keeps `source` for every op so the error
 * a user reads names the config field ("mounts[3] (/proc)").
 *
 * Ops before FORK run in the first init process (on the host side of the new
 * namespaces); ops after FORK run in the container's process. See
 * docs/protocol.md for the wire encoding and the exact semantics of each op.
 *
 * Paths marked "in root" are resolved inside the container root with
 * openat2(RESOLVE_IN_ROOT): before PIVOT_ROOT relative to the fd opened by
 * SET_ROOT, after it relative to "/". They can never leave the root.
 */

export const enum OpCode {
  /** unshare(flags) — CLONE_NEW* bits. */
  UNSHARE = 1,
  /** setns(open(path), nstype) — join an existing namespace. */
  SETNS = 2,
  /** Send SYNC(op index) and block until CONTINUE; used for hooks and uid/gid maps. */
  SYNC = 3,
  /**
   * fork(); parent sends PID(child) then exits (wait=0) or waits and sends EXIT (wait=1).
   * With `cgroup2Dir` the child is born in that cgroup2 directory (clone3 CLONE_INTO_CGROUP:
   * no global cgroup lock); with `leaveFiles` the waiting parent writes "0" into each
   * (v1 `tasks` files) right after the fork, going back to the runtime's own cgroups.
   */
  FORK = 4,
  /** Write `content` to /proc/self/timens_offsets (after UNSHARE of CLONE_NEWTIME, before FORK). */
  TIMENS_OFFSETS = 5,
  /** connect() to the unix socket at host `path`; keep the fd for CONSOLE. */
  CONSOLE_SOCKET = 6,
  /** open(path, O_PATH) of exec.fifo on the host; kept for WAIT_START. */
  OPEN_FIFO = 7,
  /** open(path, O_PATH|O_DIRECTORY) — the root all "in root" paths resolve in. */
  SET_ROOT = 8,
  /** mount(source, target, fstype, flags, data). See MountTarget for how target is found. */
  MOUNT = 9,
  /** mount_setattr / propagation change on a mount point. */
  MOUNT_SETATTR = 10,
  /** mknod(path in root, mode, makedev(major, minor)) then chown(uid, gid); with bindFallback, bind-mount the host device instead when mknod is refused (user namespaces). */
  MKNOD = 11,
  /** symlink(target, path in root); EEXIST ignored. */
  SYMLINK = 12,
  /** mkdir -p of a path in root with mode. */
  MKDIR = 13,
  /** pivot_root into the root (SET_ROOT) and detach the old root. */
  PIVOT_ROOT = 14,
  /** --no-pivot: MS_MOVE the root onto / and chroot. */
  MOVE_ROOT = 15,
  /** Mask a path in root: /dev/null over a file, an empty read-only tmpfs over a directory; absent paths ignored. */
  MASK_PATH = 16,
  /** Bind a path in root onto itself read-only (recursive); absent paths ignored. */
  READONLY_PATH = 17,
  /** Write `content` to an absolute path (sysctl under /proc/sys, oom_score_adj, apparmor attr). */
  WRITE_FILE = 18,
  SETHOSTNAME = 19,
  SETDOMAINNAME = 20,
  /** setrlimit(resource, {soft, hard}); values are u64, RLIM_INFINITY = 2^64-1. */
  SETRLIMIT = 21,
  UMASK = 22,
  /** setgroups(gids) (skipped when setGroups=0), setresgid(gid), setresuid(uid), keeping capabilities for CAPS. */
  SET_USER = 23,
  /** Set capability sets from five u64 masks: bounding, effective, permitted, inheritable, ambient. */
  CAPS = 24,
  /** prctl(PR_SET_NO_NEW_PRIVS, 1). */
  NO_NEW_PRIVS = 25,
  /** seccomp(SECCOMP_SET_MODE_FILTER, flags, program); with listener, send the notify fd to a unix socket path. */
  SECCOMP = 26,
  /** Open a pty in the container's /dev/ptmx, size it, bind the slave on /dev/console, send the master over CONSOLE_SOCKET, make the slave fds 0-2 and the controlling terminal. */
  CONSOLE = 27,
  /** setsid(). */
  SETSID = 28,
  /** chdir(path) — path in the container after PIVOT_ROOT. */
  CHDIR = 29,
  /** Close every fd from `first` up (the init's own socket included at EXEC time). */
  CLOSE_FDS = 30,
  /** Send READY (the container is created). */
  READY = 31,
  /** Block until `start` opens exec.fifo for reading (OPEN_FIFO), then go on. */
  WAIT_START = 32,
  /** Resolve argv[0] through PATH from env (as execvp would), fail now if absent or not executable. */
  LOOKUP = 33,
  /** execve(resolved path, argv, env). */
  EXEC = 34,
  /** personality(domain). */
  PERSONALITY = 35,
  /** prctl(PR_SET_DUMPABLE, 0|1). */
  SET_DUMPABLE = 36,
  /** Report a key/value to TypeScript (e.g. the pts path); no effect. Reserved. */
  NOTE = 37,
  /** connect() to the unix socket at host `path` (the seccomp agent, OCI listenerPath) while the host is still reachable; SECCOMP with SECCOMP_FILTER_FLAG_NEW_LISTENER sends the notify fd there. */
  SECCOMP_LISTENER_SOCKET = 38,
  /** Set the loopback interface of the current network namespace up (a new one starts down). */
  LOOPBACK_UP = 39,
  /** The absolute file the next EXEC runs, whatever its argv[0] (OCI hooks name both apart). */
  PROGRAM = 40,
}

export const enum MountTargetKind {
  /** Target is a host path (before the root exists, e.g. making / rslave). */
  HOST = 0,
  /** Target is inside the root; must already exist. */
  IN_ROOT = 1,
  /** Inside the root; create it (and parents) as a directory when missing. */
  IN_ROOT_CREATE_DIR = 2,
  /** Inside the root; create it as an empty file (parents as directories) when missing. */
  IN_ROOT_CREATE_FILE = 3,
}

export const enum ForkMode {
  /** Parent reports PID and exits 0: the container process is re-parented (create, exec --detach). */
  DETACH = 0,
  /** Parent reports PID, waits for the child and reports EXIT with the wait status (run, exec). */
  WAIT = 1,
}

export const enum WaitStartMode {
  /** Block on exec.fifo until `carton-runtime start` opens it. */
  FIFO = 0,
}

interface OpBase {
  /** The config field this op comes from, for error messages: "mounts[3] (/proc)". */
  source: string;
}

export type Op =
  | (OpBase & { op: OpCode.UNSHARE; flags: number })
  | (OpBase & { op: OpCode.SETNS; nstype: number; path: string })
  | (OpBase & { op: OpCode.SYNC; tag: string })
  | (OpBase & { op: OpCode.FORK; mode: ForkMode; cgroup2Dir?: string; leaveFiles?: string[] })
  | (OpBase & { op: OpCode.TIMENS_OFFSETS; content: string })
  | (OpBase & { op: OpCode.CONSOLE_SOCKET; path: string })
  | (OpBase & { op: OpCode.OPEN_FIFO; path: string })
  | (OpBase & { op: OpCode.SET_ROOT; path: string })
  | (OpBase & {
      op: OpCode.MOUNT;
      source: string;
      /** The mount's own source string (device, host path or fs name). Named so because `source` is the config field. */
      device: string;
      target: string;
      targetKind: MountTargetKind;
      fstype: string;
      flags: number;
      data: string;
    })
  | (OpBase & {
      op: OpCode.MOUNT_SETATTR;
      target: string;
      targetKind: MountTargetKind;
      /** MOUNT_ATTR_* bits to set and clear. */
      attrSet: number;
      attrClear: number;
      /** MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE or 0 to leave propagation alone. */
      propagation: number;
      recursive: boolean;
    })
  | (OpBase & {
      op: OpCode.MKNOD;
      path: string;
      /** File type and permission bits (S_IFCHR | 0o666 …). */
      mode: number;
      major: number;
      minor: number;
      uid: number;
      gid: number;
      /** Host device path to bind when mknod is refused (EPERM), or "" for none. */
      bindFallback: string;
    })
  | (OpBase & { op: OpCode.SYMLINK; target: string; path: string })
  | (OpBase & { op: OpCode.MKDIR; path: string; mode: number })
  | (OpBase & { op: OpCode.PIVOT_ROOT })
  | (OpBase & { op: OpCode.MOVE_ROOT })
  | (OpBase & { op: OpCode.MASK_PATH; path: string })
  | (OpBase & { op: OpCode.READONLY_PATH; path: string })
  | (OpBase & { op: OpCode.WRITE_FILE; path: string; content: string })
  | (OpBase & { op: OpCode.SETHOSTNAME; name: string })
  | (OpBase & { op: OpCode.SETDOMAINNAME; name: string })
  | (OpBase & { op: OpCode.SETRLIMIT; resource: number; soft: bigint; hard: bigint })
  | (OpBase & { op: OpCode.UMASK; mask: number })
  | (OpBase & { op: OpCode.SET_USER; uid: number; gid: number; setGroups: boolean; groups: number[] })
  | (OpBase & {
      op: OpCode.CAPS;
      bounding: bigint;
      effective: bigint;
      permitted: bigint;
      inheritable: bigint;
      ambient: bigint;
    })
  | (OpBase & { op: OpCode.NO_NEW_PRIVS })
  | (OpBase & { op: OpCode.SECCOMP; flags: number; program: Uint8Array; listenerPath: string; listenerMetadata: string })
  | (OpBase & { op: OpCode.CONSOLE; rows: number; cols: number })
  | (OpBase & { op: OpCode.SETSID })
  | (OpBase & { op: OpCode.CHDIR; path: string })
  | (OpBase & { op: OpCode.CLOSE_FDS; first: number })
  | (OpBase & { op: OpCode.READY })
  | (OpBase & { op: OpCode.WAIT_START; mode: WaitStartMode })
  | (OpBase & { op: OpCode.LOOKUP; argv: string[]; env: string[] })
  | (OpBase & { op: OpCode.EXEC; argv: string[]; env: string[] })
  | (OpBase & { op: OpCode.PERSONALITY; domain: number })
  | (OpBase & { op: OpCode.SET_DUMPABLE; dumpable: boolean })
  | (OpBase & { op: OpCode.NOTE; key: string; value: string })
  | (OpBase & { op: OpCode.SECCOMP_LISTENER_SOCKET; path: string })
  | (OpBase & { op: OpCode.LOOPBACK_UP })
  | (OpBase & { op: OpCode.PROGRAM; path: string });

/** Messages the init sends to TypeScript. */
export const enum InitMessage {
  /** i32 pid of the forked container process (host pid namespace view). */
  PID = 10,
  /** u32 op index of the SYNC op reached. */
  SYNC = 11,
  /** The container is created (READY op reached). */
  READY = 12,
  /** u32 op index, i32 errno, bytes message. */
  ERROR = 13,
  /** i32 raw wait status of the container process (ForkMode.WAIT). */
  EXIT = 14,
  /** ForkMode.WAIT only, empty: the forked process has exec'd (or ended; an ERROR would have come first). */
  STARTED = 15,
}

/** Messages TypeScript sends to the init. */
export const enum HostMessage {
  /** u32 op count, then the ops. */
  PLAN = 1,
  /** u32 status: 0 go on, else abort quietly. Answers SYNC. */
  CONTINUE = 2,
}

/** Linux constants the plan needs (x86_64 values; identical on every arch Carton targets). */
export const CLONE = {
  NEWTIME: 0x00000080,
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  ATIME_MASK: 0x70,
  NODIRATIME: 0x80,
  NOSYMFOLLOW: 0x200000,
} as const;

export const S_IF = { CHR: 0o020000, BLK: 0o060000, FIFO: 0o010000, REG: 0o100000, DIR: 0o040000 } as const;

export const RLIM_INFINITY = 0xffffffffffffffffn;
