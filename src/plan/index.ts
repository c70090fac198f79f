/**
 * The planner: OCI config → ordered ops for carton-init (src/plan/ops.ts).
 * Pure: no syscalls, no fs access; host facts come in through the context
 * and extras (src/plan/inputs.ts). Call validateSpec (src/oci/validate.ts) first.
 *
 * Stable entry points:
 *
 *   buildCreatePlan(spec: Spec, ctx: PlanContext, extras: PlanExtras): Op[]
 *     create (ctx.mode 'create': stops at WAIT_START until `start`) or
 *     run (ctx.mode 'run': no fifo, FORK WAIT reports the exit status).
 *   buildCreatePlanWithWarnings(...) → { ops, warnings }  (same, plus things ignored)
 *   buildExecPlan(process: Process, ctx: ExecPlanContext, containerSpec: Spec, extras: PlanExtras): Op[]
 *   describePlan(ops) → string[]  (src/plan/describe.ts: one line per op, for --debug)
 * Validation first: validateSpec(config) / validateProcess(execProcess, 'process.json') in
 * src/oci/validate.ts. Planning errors are CartonErrors naming the field, like validation's.
 *
 * SYNC tags the caller must answer (CONTINUE):
 *   'userns-maps'       write /proc/<init pid>/{uid_map,setgroups,gid_map} (pid from the socket peer)
 *   'createRuntime'     run prestart + createRuntime hooks (mounts are done, before pivot_root)
 *   'createContainer'   run createContainer hooks (in the container's mount namespace)
 *   'startContainer'    run startContainer hooks (mode 'run' only, just before READY; in
 *                       mode 'create' the init's socket is gone after READY: `start` runs them)
 *   'seccomp-listener'  answer with the OCI state JSON as the CONTINUE payload (the init sends
 *                       it with the notify fd at SECCOMP); the last SYNC before READY
 * The hook SYNCs appear only when config.json has such hooks, or always with extras.alwaysSync.
 * No SYNC ever follows READY.
 *
 * Create order (runc's, adapted to one init process):
 *   host side: join the v1 cgroups (src/plan/cgroup-join.ts), oom_score_adj, console socket, seccomp agent socket, exec.fifo
 *     (all before namespace changes: a user namespace loses access to host files),
 *   SETNS (user first, mount last), UNSHARE user + SYNC maps + become root,
 *   UNSHARE the rest, time offsets, FORK (into the cgroup2 directory);
 *   child: [UNSHARE cgroup, when FORK placed it], SETSID, lo up in a new network namespace, "/" rslave, rootfs self-bind, SET_ROOT, mounts in config order,
 *   /dev nodes and links, hook SYNCs, PIVOT_ROOT, cwd mkdir, /dev/console + CONSOLE, delayed
 *   read-only remounts, root.readonly, hostname, sysctl, read-only/masked paths,
 *   personality, rlimits, AppArmor, umask, chdir, LOOKUP, [startContainer SYNC (run)],
 *   [seccomp-listener SYNC], READY, WAIT_START (create), then
 *   seccomp/user/caps/no_new_privs/close fds, EXEC.
 * Everything that can fail because of the config happens before READY, so
 * `create` reports it. Credentials change only after WAIT_START: a non-root
 * user could no longer open /proc/self/fd/<fifo> of the non-dumpable init.
 */
import type { Process, Spec } from '../oci/spec';
import type { ExecPlanContext, PlanContext, PlanExtras } from './inputs';
import { ForkMode, Op, OpCode, S_IF, WaitStartMode } from './ops';
import { createNamespaceOps, deferredCgroupNsOps, execNamespaceOps, namespaceInfo } from './namespaces';
import { planMounts } from './mounts';
import { needsDevSetup, planDevices } from './devices';
import { sysctlOps } from './sysctl';
import { pathProtectionOps, readonlyRootOps, rootfsPrepareOps, switchRootOps } from './rootfs';
import {
  apparmorOps, chdirOps, consoleOps, consoleSocketOps, finalOps, lookupOps, oomScoreOps, rlimitOps,
  seccompListenerSocketOps, seccompListenerSyncOps, umaskOps,
} from './process';
import { CartonError } from '../common/errors';
import { planCgroupJoin } from './cgroup-join';

export type { PlanContext, ExecPlanContext, PlanExtras } from './inputs';

const PERSONALITY_DOMAIN: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };

export function buildCreatePlan(spec: Spec, ctx: PlanContext, extras: PlanExtras): Op[] {
  return buildCreatePlanWithWarnings(spec, ctx, extras).ops;
}

export interface CreatePlan {
  ops: Op[];
  /** Config fields accepted but not applied. */
  warnings: string[];
  /** A FORK WAIT init goes back to the runtime's cgroups by itself (src/plan/cgroup-join.ts). */
  initLeavesCgroups: boolean;
}

export function buildCreatePlanWithWarnings(spec: Spec, ctx: PlanContext, extras: PlanExtras): CreatePlan {
  const process = spec.process;
  if (!process) throw new CartonError('EINVAL_CONFIG', 'process: required');
  if (ctx.mode === 'create' && !ctx.fifoPath) throw new CartonError('EINTERNAL', 'buildCreatePlan: create mode needs ctx.fifoPath');
  const ns = namespaceInfo(spec);
  const hooks = spec.hooks ?? {};
  const wantSync = (...lists: (unknown[] | undefined)[]) => extras.alwaysSync || lists.some((l) => (l?.length ?? 0) > 0);
  const ops: Op[] = [];
  const cgroupJoin = planCgroupJoin(ctx.cgroupJoin, { viaProcs: ns.has('user') || !!ns.joinPath('cgroup'), parentWaits: ctx.mode === 'run' });
  const deferCgroupNs = !!cgroupJoin.fork.cgroup2Dir;

  // Host side, before any namespace change.
  ops.push(...cgroupJoin.first);
  ops.push(...oomScoreOps(process.oomScoreAdj));
  ops.push(...consoleSocketOps(process, ctx.consoleSocket));
  ops.push(...seccompListenerSocketOps(extras.seccomp));
  if (ctx.mode === 'create') ops.push({ op: OpCode.OPEN_FIFO, path: ctx.fifoPath!, source: 'exec.fifo' });
  ops.push(...createNamespaceOps(spec, ns, { deferCgroupNs }));
  ops.push({ op: OpCode.FORK, mode: ctx.mode === 'create' ? ForkMode.DETACH : ForkMode.WAIT, ...cgroupJoin.fork, source: 'process' });

  // The container's first process: pid 1 of a new pid namespace.
  if (deferCgroupNs) ops.push(...deferredCgroupNsOps(ns));
  ops.push({ op: OpCode.SETSID, source: 'process' });
  // A new network namespace starts with `lo` down; runc and crun bring it up.
  if (ns.creates('network')) ops.push({ op: OpCode.LOOPBACK_UP, source: `linux.namespaces[${ns.index('network')}] (network)` });
  ops.push(...rootfsPrepareOps(spec, ctx));
  const mounts = planMounts(spec, ctx, extras, ns);
  ops.push(...mounts.beforePivot);
  ops.push(...planDevices(spec, { bindFallback: ns.has('user') || ctx.hostDevicesForFallback === true }));
  if (wantSync(hooks.prestart, hooks.createRuntime)) ops.push({ op: OpCode.SYNC, tag: 'createRuntime', source: 'hooks.createRuntime' });
  if (wantSync(hooks.createContainer)) ops.push(...hookSync(ctx, 'createContainer'));
  ops.push(...switchRootOps(ctx));

  // Inside the new root.
  ops.push({ op: OpCode.MKDIR, path: process.cwd, mode: 0o755, source: `process.cwd (${process.cwd})` });
  if (process.terminal && needsDevSetup(spec)) {
    // The pty slave is bound onto /dev/console; a fresh /dev has no file to bind onto.
    ops.push({ op: OpCode.MKNOD, path: '/dev/console', mode: S_IF.REG | 0o600, major: 0, minor: 0, uid: 0, gid: 0, bindFallback: '', source: 'process.terminal' });
  }
  ops.push(...consoleOps(process));
  ops.push(...mounts.afterPivot);
  ops.push(...readonlyRootOps(spec));
  if (spec.hostname) ops.push({ op: OpCode.SETHOSTNAME, name: spec.hostname, source: 'hostname' });
  if (spec.domainname) ops.push({ op: OpCode.SETDOMAINNAME, name: spec.domainname, source: 'domainname' });
  ops.push(...sysctlOps(spec));
  ops.push(...pathProtectionOps(spec));
  const personality = spec.linux?.personality;
  if (personality) {
    ops.push({ op: OpCode.PERSONALITY, domain: PERSONALITY_DOMAIN[personality.domain] ?? 0, source: `linux.personality.domain (${personality.domain})` });
  }
  ops.push(...rlimitOps(process));
  ops.push(...apparmorOps(process, ctx.apparmorEnabled));
  ops.push(...umaskOps(process));
  ops.push(...chdirOps(process));
  ops.push(...lookupOps(process, ctx.home));
  // After `create` returns nobody listens on the init's socket: in create mode
  // `start` runs the startContainer hooks itself, and no SYNC follows READY.
  if (ctx.mode === 'run' && wantSync(hooks.startContainer)) ops.push(...hookSync(ctx, 'startContainer'));
  ops.push(...seccompListenerSyncOps(extras.seccomp));
  // create: `start` enters the waiting init's namespaces for the startContainer hooks.
  const openForStart = ctx.mode === 'create' && ctx.hooksEnterAsOwner === true && (hooks.startContainer?.length ?? 0) > 0;
  if (openForStart) ops.push({ op: OpCode.SET_DUMPABLE, dumpable: true, source: 'hooks.startContainer' });
  ops.push({ op: OpCode.READY, source: 'process' });
  if (ctx.mode === 'create') ops.push({ op: OpCode.WAIT_START, mode: WaitStartMode.FIFO, source: 'exec.fifo' });
  if (openForStart) ops.push({ op: OpCode.SET_DUMPABLE, dumpable: false, source: 'hooks.startContainer' });
  ops.push(...finalOps(process, {
    capLastCap: extras.capLastCap,
    seccomp: extras.seccomp,
    setgroupsDenied: ctx.setgroupsDenied === true,
    preserveFds: ctx.preserveFds,
    home: ctx.home,
  }));
  return { ops, warnings: mounts.warnings, initLeavesCgroups: cgroupJoin.initLeaves };
}

/**
 * A hook SYNC for a hook that enters the container's namespaces (src/plan/hook-plan.ts). The init is
 * not dumpable, so its /proc/<pid>/ns files are root's: a rootless runtime could not open
 * them. There (hooksEnterAsOwner) the init is dumpable for the length of the hook only,
 * before any process of the container but this one exists.
 */
function hookSync(ctx: PlanContext, tag: 'createContainer' | 'startContainer'): Op[] {
  const source = `hooks.${tag}`;
  const sync: Op = { op: OpCode.SYNC, tag, source };
  if (!ctx.hooksEnterAsOwner) return [sync];
  return [{ op: OpCode.SET_DUMPABLE, dumpable: true, source }, sync, { op: OpCode.SET_DUMPABLE, dumpable: false, source }];
}

/**
 * exec: join the running container's namespaces, fork into its pid namespace
 * (WAIT unless detached), set the process up and execve. The container's
 * seccomp filter (compiled by the caller) and oom score apply unless the
 * process overrides the score.
 */
export function buildExecPlan(process: Process, ctx: ExecPlanContext, containerSpec: Spec, extras: PlanExtras): Op[] {
  if (!process.args || process.args.length === 0) throw new CartonError('EINVAL_CONFIG', 'process.args: must not be empty');
  if (!Number.isInteger(ctx.containerPid) || ctx.containerPid <= 0) {
    throw new CartonError('EINTERNAL', `buildExecPlan: no container pid (${ctx.containerPid})`);
  }
  const types = ctx.namespaces.length > 0 ? ctx.namespaces : (containerSpec.linux?.namespaces ?? []).map((n) => n.type);
  const ops: Op[] = [];
  const cgroupJoin = planCgroupJoin(ctx.cgroupJoin, { viaProcs: types.includes('user'), parentWaits: !ctx.detach });
  const joins = execNamespaceOps(ctx.containerPid, types, cgroupJoin.fork.cgroup2Dir ? ['cgroup', 'mount'] : []);
  ops.push(...cgroupJoin.first);
  ops.push(...oomScoreOps(process.oomScoreAdj ?? containerSpec.process?.oomScoreAdj));
  ops.push(...consoleSocketOps(process, ctx.consoleSocket));
  ops.push(...seccompListenerSocketOps(extras.seccomp));
  ops.push(...joins.beforeFork);
  ops.push({ op: OpCode.FORK, mode: ctx.detach ? ForkMode.DETACH : ForkMode.WAIT, ...cgroupJoin.fork, source: 'process' });
  ops.push(...joins.afterFork);
  ops.push({ op: OpCode.SETSID, source: 'process' });
  ops.push(...seccompListenerSyncOps(extras.seccomp));
  ops.push(...rlimitOps(process));
  ops.push(...apparmorOps(process, ctx.apparmorEnabled));
  ops.push(...consoleOps(process));
  ops.push(...umaskOps(process));
  ops.push(...chdirOps(process));
  ops.push(...lookupOps(process, ctx.home));
  ops.push(...finalOps(process, {
    capLastCap: extras.capLastCap,
    seccomp: extras.seccomp,
    setgroupsDenied: ctx.setgroupsDenied === true,
    preserveFds: ctx.preserveFds,
    home: ctx.home,
  }));
  return ops;
}
