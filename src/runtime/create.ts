/**
 * create (and the first half of run): bundle → validated spec → cgroup → plan →
 * native init → READY → state + pid file. Every step registers its undo, and any
 * failure runs them all, so bad input leaves no process, cgroup, mount or state dir.
 */
import * as fs from 'fs';
import { CartonError, asCartonError } from '../common/errors';
import type { LinuxResources, Spec } from '../oci/spec';
import type { PlanContext } from '../plan/inputs';
import { loadBundle, LoadedBundle } from './bundle';
import {
  buildCreatePlanWithWarnings,
  cgroupViewOf,
  compileSeccomp,
  openCgroups,
  startInit,
  CgroupManager,
  InitHandle,
  InitStdio,
} from './deps';
import type { UsernsPrep } from './userns';
import type { Op } from '../plan/ops';
import { containerDeviceRules } from '../cgroups/devices';
import { lsmSkipWarnings } from './lsm-skips';
import type { PlanExtras } from '../plan/inputs';
import { makeFifo } from './fifo';
import { apparmorEnabled, homeFromPasswd } from './host-facts';
import { runHooks } from './hooks';
import { trace } from './trace';
import { pidStartTime } from './proc';
import { stateJson } from './status';
import { seccompAgentPayload } from './seccomp-agent';
import { ContainerRecord, StateStore, nowRfc3339Nano, writeFileAtomic } from './store';

export interface CreateOptions {
  root?: string;
  id: string;
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: number;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** 'create': wait on exec.fifo for start; 'run': exec at once, the init waits for the exit. */
  mode?: 'create' | 'run';
  /** stdio for the container (default: inherit 0-2, then the preserved fds). */
  stdio?: InitStdio[];
  /** Called with a warning line (poststop failures and the like). */
  warn?: (msg: string) => void;
  /** Receives debug lines (the plan, one op a line) when --debug is on. */
  debug?: (msg: string) => void;
  /**
   * Things accepted but not applied (planner warnings, cgroup fields this host
   * ignores): worth a log line, too common to print on every run (stderr with --debug).
   */
  notice?: (msg: string) => void;
  /** --systemd-cgroup: cgroupsPath is slice:prefix:name, managed through systemd. */
  systemdCgroup?: boolean;
  /** The bundle already read and validated by the caller (run reads it first to see `terminal`). */
  loaded?: LoadedBundle;
}

export interface CreateResult {
  record: ContainerRecord;
  store: StateStore;
  init: InitHandle;
  cgroups: CgroupManager;
}

export async function createContainer(opts: CreateOptions): Promise<CreateResult> {
  const store = new StateStore(opts.root);
  const mode = opts.mode ?? 'create';
  trace('create: begin');
  const { bundle, spec, rootfs } = opts.loaded ?? loadBundle(opts.bundle);
  trace('create: bundle loaded and validated');
  const preserveFds = opts.preserveFds ?? 0;
  if (!Number.isInteger(preserveFds) || preserveFds < 0) {
    throw new CartonError('EINVAL_CONFIG', `--preserve-fds: must be a non-negative integer, got ${preserveFds}`);
  }
  checkConsole(spec, opts.consoleSocket);
  // User namespaces and rootless runs are checked before anything exists (map
  // coverage, helpers, rootfs ownership): a refusal leaves nothing behind.
  const prep = needsUsernsPrep(spec) ? usernsModule().prepareUserns(spec, rootfs) : undefined;
  for (const w of prep?.warnings ?? []) opts.warn?.(w);
  for (const w of lsmSkipWarnings(spec)) opts.warn?.(w);

  store.reserve(opts.id);
  const undo: Array<() => unknown> = [() => store.remove(opts.id)];
  const lock = store.lock(opts.id);
  let init: InitHandle | undefined;
  let cgroupsRef: CgroupManager | undefined;
  try {
    const fifoPath = mode === 'create' ? store.fifoPath(opts.id) : undefined;
    if (fifoPath) makeFifo(fifoPath);

    const cgroupOpts = { id: opts.id, cgroupsPath: spec.linux?.cgroupsPath, systemd: !!opts.systemdCgroup, resources: withDefaultDevices(spec) };
    const cgroups = prep?.rootless
      ? (require('./rootless-cgroups') as typeof import('./rootless-cgroups')).openContainerCgroups({ ...cgroupOpts, rootless: true, warn: opts.warn })
      : openCgroups(cgroupOpts);
    cgroupsRef = cgroups;
    undo.push(() => cgroups.destroy());
    const record: ContainerRecord = {
      ociVersion: spec.ociVersion,
      id: opts.id,
      pid: 0,
      pidStartTime: 0,
      bundle,
      rootfs,
      created: nowRfc3339Nano(),
      annotations: spec.annotations ?? {},
      owner: '',
      cgroupPaths: cgroups.paths,
      cgroupCreated: [],
      namespaces: spec.linux?.namespaces ?? [],
      config: spec,
    };
    // A record from the start (pid 0: "creating"): should this process die mid-way,
    // `delete --force` still finds the cgroups to remove.
    store.save(record);
    await cgroups.create();
    record.cgroupCreated = cgroups.created;
    for (const n of cgroups.notes ?? []) opts.notice?.(`${n.field}: ${n.message}`);
    trace('create: cgroups created');

    const ctx: PlanContext = {
      mode,
      bundle,
      rootfs,
      noPivot: !!opts.noPivot,
      consoleSocket: opts.consoleSocket,
      fifoPath,
      preserveFds,
      cgroupView: cgroupViewOf(cgroups),
      cgroupJoin: cgroups.joinPlan?.(),
      setgroupsDenied: prep?.setgroupsDenied,
      apparmorEnabled: apparmorEnabled(),
      hooksEnterAsOwner: process.geteuid?.() !== 0,
      // mknod is refused to a runtime that itself runs in a user namespace.
      hostDevicesForFallback: (require('./rootless') as typeof import('./rootless')).runningInUserNs(),
      home: spec.process?.user ? homeFromPasswd(rootfs, spec.process.user.uid) : undefined,
    };
    // In create mode the plan has no SYNC after READY (nobody answers the init's socket
    // once `create` exits): `start` runs the startContainer hooks, and the seccomp agent's
    // state is fetched before READY and kept by the init until the filter is loaded.
    const planned = buildCreatePlanWithWarnings(spec, ctx, planExtras(spec));
    const ops = planned.ops;
    for (const w of planned.warnings) opts.notice?.(w);

    let hookError: unknown;
    if (opts.debug) for (const line of describePlan(ops)) opts.debug(line);
    trace('create: planned');
    const handle: InitHandle = await startInit({
      ops,
      preserveFds,
      stdio: opts.stdio,
      // Without a join plan the init is put in its cgroups from here, before it runs anything.
      beforePlan: ctx.cgroupJoin ? undefined : (initPid: number) => cgroups.addProcess(initPid),
      onSync: async (tag: string) => {
        try {
          return await onSync(tag, spec, record, init, prep);
        } catch (err) {
          hookError = err;
          throw err;
        }
      },
    });
    init = handle;
    undo.push(() => handle.kill('SIGKILL'));
    try {
      await handle.ready;
    } catch (err) {
      throw hookError ?? err;
    }
    trace('create: init ready');
    const pid = await handle.containerPid;
    // run: the init stays as the container's waiting parent, outside the container's
    // cgroups, so that ps, pids.max and kill --all see only the container's own processes,
    // as with runc. It leaves by itself unless a user namespace took its rights away.
    if (mode === 'run' && handle.initPid !== pid && !planned.initLeavesCgroups) leaveContainerCgroups(handle.initPid);
    record.pid = pid;
    record.pidStartTime = pidStartTime(pid) ?? 0;
    // run goes straight on to exec: it is started as soon as it is ready.
    if (mode === 'run') record.started = true;
    store.save(record);
    // Atomic (readers never see a partial pid) but not fsync'd, like runc's pid file.
    if (opts.pidFile) writeFileAtomic(opts.pidFile, String(pid), 0o644, false);
    lock.release();
    trace('create: state saved');
    return { record, store, init: handle, cgroups };
  } catch (err) {
    if (init) init.kill('SIGKILL');
    err = explainOom(err, cgroupsRef, spec);
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch {
        /* best effort: the original error is what the user needs */
      }
    }
    lock.release();
    throw asCartonError(err);
  }
}

/** A terminal needs somewhere to send the pty master; check the socket exists before anything is made. */
function checkConsole(spec: Spec, consoleSocket: string | undefined): void {
  if (consoleSocket) {
    let st: fs.Stats;
    try {
      st = fs.statSync(consoleSocket);
    } catch {
      throw new CartonError('ENOTFOUND', `--console-socket (${consoleSocket}): no such file or directory`);
    }
    if (!st.isSocket()) throw new CartonError('EINVAL_CONFIG', `--console-socket (${consoleSocket}): not a unix socket`);
    if (!spec.process?.terminal) {
      throw new CartonError('EINVAL_CONFIG', '--console-socket given but process.terminal is false');
    }
  } else if (spec.process?.terminal) {
    throw new CartonError('EINVAL_CONFIG', 'process.terminal is true: --console-socket is required to receive the terminal');
  }
}

/**
 * The init stops at SYNC ops so the runtime can act at the spec's moments: uid/gid
 * maps of a new user namespace, hooks that run in the runtime's namespaces once the
 * container's exist (createRuntime, prestart) or in the container's (createContainer,
 * startContainer for run), and the state the seccomp agent receives.
 */
async function onSync(
  tag: string,
  spec: Spec,
  record: ContainerRecord,
  init: InitHandle | undefined,
  prep: UsernsPrep | undefined,
): Promise<Buffer | void> {
  if (tag === 'userns-maps') {
    if (!init || !prep) throw new CartonError('EINTERNAL', 'userns-maps: init pid or map writers unknown');
    usernsModule().writeUsernsMaps(init.initPid, spec, prep);
    return;
  }
  const pid = init ? await init.containerPid : 0;
  const state = stateJson({ ...record, pid }, 'creating');
  switch (tag) {
    case 'createRuntime':
      // prestart is the deprecated name of the same moment; runc runs prestart first.
      runHooks(spec.hooks, 'prestart', state);
      runHooks(spec.hooks, 'createRuntime', state);
      return;
    case 'createContainer':
      if (pid) await containerHooks().runHooksInContainer(spec.hooks, 'createContainer', state, pid);
      else runHooks(spec.hooks, 'createContainer', state);
      return;
    case 'startContainer':
      if (pid) await containerHooks().runHooksInContainer(spec.hooks, 'startContainer', { ...state, status: 'created' }, pid);
      else runHooks(spec.hooks, 'startContainer', { ...state, status: 'created' });
      return;
    case 'seccomp-listener':
      return seccompAgentPayload(spec, { ...record, pid }, pid, 'creating');
    default:
      return;
  }
}

/** userns.ts (map writers, rootless checks) is loaded only when a user namespace or a non-root runtime needs it. */
const usernsModule = (): typeof import('./userns') => require('./userns') as typeof import('./userns');

function needsUsernsPrep(spec: Spec): boolean {
  if ((spec.linux?.namespaces ?? []).some((n) => n.type === 'user')) return true;
  // Not root, --rootless true, or root of a nested user namespace.
  return (require('./rootless') as typeof import('./rootless')).isRootless();
}

/** Host facts the pure planner needs. */
function planExtras(spec: Spec): PlanExtras {
  let capLastCap = 40;
  try {
    capLastCap = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim()) || 40;
  } catch {
    /* keep the default */
  }
  const seccomp = spec.linux?.seccomp ? compileSeccomp(spec.linux.seccomp) : undefined;
  return {
    capLastCap,
    bindSourceKinds: (hostPath: string) => {
      try {
        return fs.statSync(hostPath).isDirectory() ? 'dir' : 'file';
      } catch {
        return 'missing';
      }
    },
    seccomp: seccomp
      ? { program: seccomp.program, flags: seccomp.flags, listenerPath: seccomp.listenerPath, listenerMetadata: seccomp.listenerMetadata }
      : undefined,
  };
}

export { planExtras };

/** The config's device rules plus the nodes every container gets (runc adds the same). */
function withDefaultDevices(spec: Spec): LinuxResources {
  const r = spec.linux?.resources ?? {};
  return { ...r, devices: containerDeviceRules(r.devices, spec.linux?.devices) };
}

/** An init killed during set-up by the OOM killer means the memory limit is too low: say so. */
function explainOom(err: unknown, cgroups: CgroupManager | undefined, spec: Spec): unknown {
  let oom = false;
  try {
    oom = !!cgroups && cgroups.oomKilled();
  } catch {
    /* no memory controller */
  }
  if (!oom) return err;
  const limit = spec.linux?.resources?.memory?.limit;
  return new CartonError(
    'EKERNEL',
    `linux.resources.memory.limit (${limit}): the container was killed by the OOM killer while being created: the limit is below what it needs`,
    { cause: err },
  );
}

/** Loaded only for configs with createContainer/startContainer hooks. */
function containerHooks(): typeof import('./container-hooks') {
  return require('./container-hooks') as typeof import('./container-hooks');
}

/** One line per op, for --debug (loaded only then). */
export function describePlan(ops: Op[]): string[] {
  return (require('../plan/describe') as typeof import('../plan/describe')).describePlan(ops);
}

/** Move a process back to this runtime's own cgroups (best effort: it only affects accounting). */
function leaveContainerCgroups(pid: number): void {
  const { hostLayout, ownCgroupDir } = require('../cgroups/detect') as typeof import('../cgroups/detect');
  for (const h of hostLayout().hierarchies) {
    try {
      fs.writeFileSync(`${ownCgroupDir(h)}/cgroup.procs`, String(pid));
    } catch {
      /* this hierarchy will show one extra process; nothing else depends on it */
    }
  }
}
