/**
 * How the init puts itself and the container's process into the container's cgroups
 * without the kernel's global cgroup lock.
 *
 * Writing a pid into cgroup.procs takes cgroup_threadgroup_rwsem for writing; the first
 * writer after a quiet spell waits a whole RCU grace period (5–45 ms measured here) and
 * holds cgroup_mutex meanwhile, so every cgroup mkdir on the host waits too. Two ways
 * around it, both measured at ~0.02 ms:
 *  - v1: a single-threaded process writing "0" into a hierarchy's `tasks` file moves only
 *    itself, which the kernel does without that lock;
 *  - cgroup2: clone3(CLONE_INTO_CGROUP) creates the child directly in its cgroup.
 * So the init joins every v1 hierarchy first thing, and FORK creates the container's
 * process inside the cgroup2 directory; a parent that stays to wait goes back to the
 * runtime's own v1 cgroups the same way, so the container's pids, pids.max and kill --all
 * count only the container's processes.
 *
 * A cgroup namespace is rooted where its creator is: with CLONE_INTO_CGROUP the forked
 * process creates (or, for exec, joins) it, after FORK (src/plan/namespaces.ts).
 *
 * A user namespace (created or joined before FORK) takes the init's rights over host
 * cgroup files away, and an existing cgroup namespace joined by path would make the
 * kernel refuse CLONE_INTO_CGROUP: there (`viaProcs`) the init joins the cgroup2
 * directory itself before any namespace change (cgroup.procs, with the lock), and the
 * runtime moves a waiting init back from the host side.
 */
import type { CgroupJoin } from './inputs';
import { Op, OpCode } from './ops';

export interface CgroupJoinPlan {
  /** Ops that go before anything else in the plan. */
  first: Op[];
  /** Arguments for the FORK op. */
  fork: { cgroup2Dir?: string; leaveFiles?: string[] };
  /** The waiting init goes back to the runtime's cgroups by itself (the runtime need not move it). */
  initLeaves: boolean;
}

const SOURCE = 'linux.cgroupsPath';

export function planCgroupJoin(join: CgroupJoin | undefined, opts: { viaProcs: boolean; parentWaits: boolean }): CgroupJoinPlan {
  if (!join) return { first: [], fork: {}, initLeaves: false };
  const first: Op[] = join.v1Dirs.map((dir) => ({ op: OpCode.WRITE_FILE, path: `${dir}/tasks`, content: '0', source: SOURCE }));
  if (opts.viaProcs) {
    if (join.v2Dir) first.push({ op: OpCode.WRITE_FILE, path: `${join.v2Dir}/cgroup.procs`, content: '0', source: SOURCE });
    return { first, fork: {}, initLeaves: false };
  }
  const leaveFiles = opts.parentWaits && join.v1Dirs.length > 0 ? join.ownV1Dirs.map((dir) => `${dir}/tasks`) : [];
  return {
    first,
    fork: { cgroup2Dir: join.v2Dir, leaveFiles: leaveFiles.length > 0 ? leaveFiles : undefined },
    initLeaves: true,
  };
}
