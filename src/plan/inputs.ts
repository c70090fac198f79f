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
  mounts: { subdir: string; hostPath: string }[];
  /** Symlinks under /sys/fs/cgroup, e.g. { name: 'cpu', target: 'cpu,cpuacct' }. */
  links: { name: string; target: string }[];
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
  /** Whether the cgroup hierarchy the container sees should be a fresh mount in a cgroup namespace. */
  hostDevicesForFallback?: boolean;
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
}
