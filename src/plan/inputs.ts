/**
 * What the planner needs to know besides config.json. Everything here is
 * gathered by the caller (runtime) from the host before planning, so that the
 * planner itself stays pure: same inputs, same ops, no syscalls.
 */

/** What /sys/fs/cgroup must show inside the container (produced by src/cgroups). */
export interface CgroupView {
  kind: 'v1' | 'v2' | 'hybrid';
  /**
   * Bind mounts that make up the view. `subdir` is relative to /sys/fs/cgroup
   * ("memory", "cpu,cpuacct", "unified"); "" means /sys/fs/cgroup itself (pure v2).
   * `hostPath` is the container's own cgroup directory in that hierarchy on the host.
   */
  mounts: {
    subdir: string;
    hostPath: string;
    /**
     * v1: the -o data of a fresh mount of this hierarchy in a cgroup namespace
     * ("cpu,cpuacct", "name=systemd"). Optional: derived from `subdir` when absent.
     */
    mountData?: string;
  }[];
  /** Symlinks under /sys/fs/cgroup, e.g. { name: 'cpu', target: 'cpu,cpuacct' }. */
  links: { name: string; target: string }[];
}

/**
 * Where the container's processes join their cgroups, for the init to do it itself
 * (src/plan/cgroup-join.ts). Absent: the runtime adds the init with cgroup.procs before
 * sending the plan (rootless, systemd-delegated cases).
 */
export interface CgroupJoin {
  /** The container's directory in each v1 hierarchy (each once). */
  v1Dirs: string[];
  /** The container's cgroup2 directory (pure v2, or the unified hierarchy of a hybrid host). */
  v2Dir?: string;
  /** The runtime's own directory in each v1 hierarchy: where a waiting init goes back to. */
  ownV1Dirs: string[];
}

export interface PlanContext {
  /** create: wait on exec.fifo for `start`; run: go straight to exec and wait for exit. */
  mode: 'create' | 'run';
  /** Absolute bundle directory (relative paths in config.json resolve against it). */
  bundle: string;
  /** Absolute host path of the root filesystem. */
  rootfs: string;
  noPivot: boolean;
  /** Host path of the console socket, when the process has a terminal. */
  consoleSocket?: string;
  /** Host path of exec.fifo (mode 'create'). */
  fifoPath?: string;
  /** Number of fds after 0-2 passed through to the container (--preserve-fds). */
  preserveFds: number;
  cgroupView: CgroupView;
  cgroupJoin?: CgroupJoin;
  /**
   * Give device nodes a host-bind fallback even without a user namespace in the
   * config (set it when the runtime itself runs in a user namespace: mknod is refused).
   */
  hostDevicesForFallback?: boolean;
  /**
   * setgroups(2) is denied where the process will run: the runtime writes "deny" at
   * the userns-maps SYNC (rootless self-map), or, with no new user namespace, the
   * runtime's own namespace denies it (nested in `unshare -r`). Never call setgroups then.
   */
  setgroupsDenied?: boolean;
  /** AppArmor is enabled on the host: apply process.apparmorProfile (ignored otherwise, as crun does). */
  apparmorEnabled?: boolean;
  /**
   * The runtime is not root: hooks that enter the container's namespaces open the init's
   * /proc/<pid>/ns files as its owner, which needs the init dumpable meanwhile.
   */
  hooksEnterAsOwner?: boolean;
  /**
   * HOME for the process when process.env has none: the home directory of
   * process.user in the container's /etc/passwd (runc's lookup). "/" when absent.
   */
  home?: string;
}

export type BindSourceKind = 'dir' | 'file' | 'missing';

/** A seccomp filter already compiled by src/seccomp. */
export interface PlanSeccomp {
  program: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* bits. */
  flags: number;
  /** OCI linux.seccomp.listenerPath: host socket that receives the notify fd. */
  listenerPath?: string;
  listenerMetadata?: string;
}

/** Host facts and compiled inputs for buildCreatePlan / buildExecPlan. */
export interface PlanExtras {
  /** /proc/sys/kernel/cap_last_cap: capabilities above it are left out. */
  capLastCap: number;
  /** What each bind source (absolute host path) is; a function or a precomputed map. */
  bindSourceKinds?: ((hostPath: string) => BindSourceKind) | Record<string, BindSourceKind>;
  seccomp?: PlanSeccomp;
  /**
   * Emit the hook SYNCs ('createRuntime', 'createContainer', 'startContainer')
   * even when config.json has no such hooks (the caller wants the pause points).
   */
  alwaysSync?: boolean;
}

/** Inputs for `exec` into a running container. */
export interface ExecPlanContext {
  /** Host pid of the container's init: namespaces are joined through /proc/<pid>/ns/*. */
  containerPid: number;
  /** Namespace types the container has (from its config), joined in runc's order. */
  namespaces: string[];
  detach: boolean;
  consoleSocket?: string;
  preserveFds: number;
  /** See PlanContext.setgroupsDenied (/proc/<container pid>/setgroups says "deny"). */
  setgroupsDenied?: boolean;
  apparmorEnabled?: boolean;
  /** See PlanContext.home. */
  home?: string;
  /** The container's cgroups, joined by the exec'd process (see PlanContext.cgroupJoin). */
  cgroupJoin?: CgroupJoin;
}
