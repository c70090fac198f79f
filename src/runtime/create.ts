/**
 * create (and the first half of run): bundle → validated spec → cgroup → plan →
 * native init → READY → state + pid file. Every step registers its undo, and any
 * failure runs them all, so bad input leaves no process, cgroup, mount or state dir.
 */
import * as fs from 'fs';
import { CartonError, asCartonError } from '../common/errors';
import type { Spec } from '../oci/spec';
import type { PlanContext } from '../plan/inputs';
import { loadBundle } from './bundle';
import {
  buildCreatePlan,
  cgroupViewOf,
  compileSeccomp,
  openCgroups,
  startInit,
  CgroupManager,
  InitHandle,
} from './deps';
import { makeFifo } from './fifo';
import { runHooks } from './hooks';
import { pidStartTime } from './proc';
import { stateJson } from './status';
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
  stdio?: unknown[];
  /** Called with a warning line (poststop failures and the like). */
  warn?: (msg: string) => void;
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
  const { bundle, spec, rootfs } = loadBundle(opts.bundle);
  const preserveFds = opts.preserveFds ?? 0;
  if (!Number.isInteger(preserveFds) || preserveFds < 0) {
    throw new CartonError('EINVAL_CONFIG', `--preserve-fds: must be a non-negative integer, got ${preserveFds}`);
  }
  checkConsole(spec, opts.consoleSocket);

  store.reserve(opts.id);
  const undo: Array<() => unknown> = [() => store.remove(opts.id)];
  const lock = store.lock(opts.id);
  let init: InitHandle | undefined;
  try {
    const fifoPath = mode === 'create' ? store.fifoPath(opts.id) : undefined;
    if (fifoPath) makeFifo(fifoPath);

    const cgroups = openCgroups({
      id: opts.id,
      cgroupsPath: spec.linux?.cgroupsPath,
      systemd: false,
      resources: spec.linux?.resources,
    });
    undo.push(() => cgroups.destroy());
    await cgroups.create();

    const ctx: PlanContext = {
      mode,
      bundle,
      rootfs,
      noPivot: !!opts.noPivot,
      consoleSocket: opts.consoleSocket,
      fifoPath,
      preserveFds,
      cgroupView: cgroupViewOf(cgroups),
    };
    const seccomp = spec.linux?.seccomp ? compileSeccomp(spec.linux.seccomp) : undefined;
    const ops = buildCreatePlan(spec, ctx, { seccomp, noNewKeyring: !!opts.noNewKeyring, containerId: opts.id });

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
      namespaces: spec.linux?.namespaces ?? [],
      config: spec,
    };
    let hookError: unknown;
    const handle: InitHandle = await startInit({
      ops,
      preserveFds,
      stdio: opts.stdio,
      beforePlan: (initPid: number) => cgroups.addProcess(initPid),
      onSync: async (tag: string) => {
        try {
          return await onSync(tag, spec, record, init, opts.id);
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
    const pid = await handle.containerPid;
    record.pid = pid;
    record.pidStartTime = pidStartTime(pid) ?? 0;
    store.save(record);
    if (opts.pidFile) writeFileAtomic(opts.pidFile, String(pid), 0o644);
    lock.release();
    return { record, store, init: handle, cgroups };
  } catch (err) {
    if (init) init.kill('SIGKILL');
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
 * The init stops at SYNC ops so the runtime can act at the spec's moments: hooks
 * that run in the runtime's namespaces after the container's exist (createRuntime,
 * prestart) and in the container's (createContainer), and the seccomp agent's state.
 */
async function onSync(tag: string, spec: Spec, record: ContainerRecord, handle: InitHandle | undefined, id: string): Promise<string | void> {
  const pid = handle ? await handle.containerPid : 0;
  const state = stateJson({ ...record, id, pid: pid || 0 }, 'creating');
  const t = tag.toLowerCase();
  if (t.includes('createruntime') || t.includes('prestart')) {
    // prestart is the deprecated name of the same moment; runc runs prestart first.
    runHooks(spec.hooks, 'prestart', state);
    runHooks(spec.hooks, 'createRuntime', state);
  } else if (t.includes('createcontainer')) {
    runHooks(spec.hooks, 'createContainer', state, { enterMountNsOf: pid || undefined });
  } else if (t.includes('seccomp')) {
    return JSON.stringify({ ...state, annotations: { ...state.annotations }, metadata: spec.linux?.seccomp?.listenerMetadata ?? '' });
  }
}
