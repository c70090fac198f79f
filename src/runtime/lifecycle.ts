/**
 * start, kill, delete, state, list: the commands that act on an existing
 * container through its state record. Status is re-derived at every step.
 */
import { CartonError } from '../common/errors';
import type { ContainerStatus } from '../oci/spec';
import { cgroupsFromState } from './deps';
import { cgroupsForRecord } from './rootless-cgroups';
import { releaseFifo } from './fifo';
import { runHooksWarnOnly } from './hooks';
import { isSameLiveProcess, signalProcess, waitGone } from './proc';
import { deriveStatus, stateJson } from './status';
import { ContainerRecord, StateStore } from './store';

export interface Loaded {
  store: StateStore;
  record: ContainerRecord;
  status: ContainerStatus;
}

export function loadContainer(root: string | undefined, id: string): Loaded {
  const store = new StateStore(root);
  const record = store.load(id);
  return { store, record, status: deriveStatus(store, record) };
}

/** The runtime-spec state JSON of a container. */
export function containerState(root: string | undefined, id: string): Record<string, unknown> {
  const { record, status } = loadContainer(root, id);
  return stateJson(record, status);
}

export async function startContainer(root: string | undefined, id: string, warn: (m: string) => void = () => {}): Promise<void> {
  const { store, record, status } = loadContainer(root, id);
  if (status === 'stopped') throw new CartonError('ESTATE', 'cannot start a container that has stopped');
  if (status !== 'created') throw new CartonError('ESTATE', `cannot start an already ${status} container`);
  const lock = store.lock(id);
  try {
    // startContainer hooks run before the user's process, in the container's mount
    // namespace; the container is still held at exec.fifo, so this is that moment.
    try {
      await (require('./container-hooks') as typeof import('./container-hooks'))
        .runHooksInContainer(record.config.hooks, 'startContainer', stateJson(record, 'created'), record.pid);
    } catch (err) {
      // The spec: a failed startContainer hook stops the container (it never runs the process).
      signalProcess(record.pid, 9);
      throw err;
    }
    releaseFifo(store.fifoPath(id), record.pid, record.pidStartTime);
    record.started = true;
    store.save(record);
  } finally {
    lock.release();
  }
  // The spec: a failing poststart hook is logged as a warning; the remaining hooks and
  // the lifecycle go on as if it had succeeded (the container keeps running).
  runHooksWarnOnly(record.config.hooks, 'poststart', stateJson(record, 'running'), warn);
}

export interface KillOptions {
  all?: boolean;
}

export async function killContainer(root: string | undefined, id: string, signal: number, opts: KillOptions = {}): Promise<void> {
  const { record, status } = loadContainer(root, id);
  if (opts.all) {
    const pids = await cgroupPids(record);
    // Nothing left to signal is not an error with --all (runc: "no error is returned if the
    // container is stopped"); engines send it to make sure everything is gone.
    if (pids.length === 0 && status === 'stopped') return;
    const cg = cgroupsFromState(record.cgroupPaths);
    // A frozen task only takes the signal once thawed: freeze, signal all, thaw (like runc).
    if (status === 'paused' || signal === 9) await tryCall(() => cg.freeze());
    for (const pid of pids) signalProcess(pid, signal);
    await tryCall(() => cg.thaw());
    return;
  }
  if (status === 'stopped' || status === 'creating') throw new CartonError('ESTATE', 'container not running');
  if (!signalProcess(record.pid, signal)) throw new CartonError('ESTATE', 'container not running');
}

export interface DeleteOptions {
  force?: boolean;
  warn?: (msg: string) => void;
}

export async function deleteContainer(root: string | undefined, id: string, opts: DeleteOptions = {}): Promise<void> {
  const store = new StateStore(root);
  if (!store.exists(id)) {
    if (opts.force) {
      // A half-created directory (runtime killed mid-create) is cleaned up as well.
      store.remove(id);
      return;
    }
    throw new CartonError('ENOTFOUND', `container does not exist: ${id}`);
  }
  const lock = store.lock(id);
  try {
    const record = store.load(id);
    const status = deriveStatus(store, record);
    if ((status === 'running' || status === 'paused') && !opts.force) {
      throw new CartonError('ESTATE', `cannot delete container ${id} that is not stopped: ${status}`, {
        hint: 'stop it first or use --force',
      });
    }
    await destroyContainer(store, record, status, opts.warn ?? (() => {}));
  } finally {
    lock.release();
  }
}

/** Kill whatever is left, remove the cgroup and the state dir, run poststop hooks. */
export async function destroyContainer(
  store: StateStore,
  record: ContainerRecord,
  status: ContainerStatus,
  warn: (msg: string) => void,
): Promise<void> {
  const cg = cgroupsFromState(record.cgroupPaths, record.cgroupCreated ?? []);
  if (status !== 'stopped' && isSameLiveProcess(record.pid, record.pidStartTime)) {
    if (status === 'paused') await tryCall(() => cg.thaw());
    signalProcess(record.pid, 9);
    waitGone(record.pid, record.pidStartTime, 5000);
  }
  // Whatever else is left in the cgroup (exec'd processes, no pid namespace) is
  // killed by destroy(), which thaws a frozen cgroup first.
  let destroyError: unknown;
  try {
    await cg.destroy();
  } catch (err) {
    destroyError = err;
  }
  runHooksWarnOnly(record.config.hooks, 'poststop', stateJson(record, 'stopped'), warn);
  store.remove(record.id);
  if (destroyError) warn(`removing cgroup: ${(destroyError as Error).message}`);
}

export async function cgroupPids(record: ContainerRecord): Promise<number[]> {
  try {
    // A rootless container made without cgroups: its pid namespace lists its processes.
    return await cgroupsForRecord(record).pids();
  } catch {
    return [];
  }
}

async function tryCall(f: () => unknown): Promise<void> {
  try {
    await f();
  } catch {
    /* optional capability of this host (no freezer): carry on */
  }
}

export interface ListEntry {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  annotations: Record<string, string>;
  owner: string;
}

export function listContainers(root: string | undefined): ListEntry[] {
  const store = new StateStore(root);
  const out: ListEntry[] = [];
  for (const id of store.list()) {
    try {
      const record = store.load(id);
      out.push(stateJson(record, deriveStatus(store, record)) as unknown as ListEntry);
    } catch {
      /* removed while listing */
    }
  }
  return out;
}
