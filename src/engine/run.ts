/**
 * `carton run` in the foreground: root filesystem (image snapshot or --rootfs dir) →
 * OCI bundle under the runroot → the runtime → exit code, keeping a container record
 * for `carton ps -a`. Whatever happens, mounts, bundle and cgroups are gone afterwards;
 * with --rm so are the record, the snapshot and anonymous volumes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CartonError, asCartonError, nodeErrorReason } from '../common/errors';
import type { ImageRunConfig } from '../storage/image-types';
import type { Snapshot, Store } from '../storage/store';
import type { ImageRecord } from '../storage/store';
import { ContainerRecord, ContainerStore, removeFlatDir } from './containers';
import { boundingCaps, etcFilePaths, hostDevices, loadSeccomp, prepareMounts, safeDirInRootfs, writeEtcFiles } from './host';
import { checkName, generateName, newContainerId } from './names';
import type { RunOptions } from './run-options';
import { buildSpec, checkWorkdir } from './spec-builder';
import { resolveUserInRootfs } from './user';
import { runtimeApi } from './runtime-client';
import { SignalGuard } from './signal-guard';
import { trace } from '../runtime/trace';

export interface RunRequest {
  root: string;
  runroot: string;
  options: RunOptions;
  /** Image reference, or the root filesystem directory with `rootfs: true`. */
  target: string;
  rootfs: boolean;
  command: string[];
  /** Finds the image locally, pulling it when missing (only called for image runs). */
  ensureImage?: (ref: string) => Promise<{ store: Store; image: ImageRecord }>;
  warn: (msg: string) => void;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function runtimeRoot(runroot: string): string {
  return path.join(runroot, 'runtime');
}

export function bundleDir(runroot: string, id: string): string {
  return path.join(runroot, 'bundles', id);
}

/** Returns the exit code `carton run` exits with. */
export async function runForeground(req: RunRequest): Promise<number> {
  trace('engine: run begin');
  const o = req.options;
  const containers = new ContainerStore(req.root);
  let name: string;
  if (o.name !== undefined) {
    name = checkName(o.name);
    containers.checkNameFree(name);
  } else {
    // One read of the records, not one per candidate name.
    const taken = new Set(containers.list().map((r) => r.Name));
    name = generateName((n) => taken.has(n));
  }
  const id = newContainerId();
  const signals = new SignalGuard(runtimeRoot(req.runroot), id);
  const cleanups: Array<() => Promise<void> | void> = [];
  let record: ContainerRecord | undefined;
  let snapshot: Snapshot | undefined;
  let store: Store | undefined;
  const undo = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        req.warn(`cleanup: ${asCartonError(err).message}`);
      }
    }
  };
  try {
    // 1. The root filesystem.
    if (req.rootfs) signals.settingUp();
    let rootfs: string;
    let imageConfig: ImageRunConfig = {};
    let imageId: string | undefined;
    if (req.rootfs) {
      rootfs = path.resolve(req.target);
      let st: fs.Stats;
      try {
        st = fs.statSync(rootfs);
      } catch (err) {
        throw new CartonError('ENOTFOUND', `--rootfs ${rootfs}: ${nodeErrorReason(err)}`, { exitCode: 125 });
      }
      if (!st.isDirectory()) throw new CartonError('EINVAL_CONFIG', `--rootfs ${rootfs}: not a directory`, { exitCode: 125 });
    } else {
      if (!req.ensureImage) throw new CartonError('EINTERNAL', 'no image source configured', { exitCode: 125 });
      const found = await req.ensureImage(req.target);
      trace('engine: image resolved');
      store = found.store;
      imageId = found.image.id;
      imageConfig = store.images.config(imageId).config ?? {};
      signals.settingUp();
      snapshot = await store.snapshots.prepare(id, found.image);
      const snap = store;
      // Kept (unmounted) only for a record `carton ps -a`/`rm` can find; otherwise deleted.
      cleanups.push(() => (o.rm || !record ? snap.snapshots.remove(id) : snap.snapshots.unmount(id)));
      rootfs = snapshot.rootfs;
      trace('engine: snapshot mounted');
    }

    // 2. The spec, before any record exists: bad input must leave no container behind.
    const hostname = o.hostname ?? (o.network === 'host' ? os.hostname() : id.slice(0, 12));
    const user = resolveUserInRootfs(o.user ?? imageConfig.User ?? '', rootfs);
    const cwd = o.workdir || imageConfig.WorkingDir || '/';
    checkWorkdir(cwd);
    const dir = containers.containerDir(id);
    const etcFiles = etcFilePaths(dir);
    const seccomp = loadSeccomp(o.seccomp, o.privileged);
    const prepared = prepareMounts(req.root, rootfs, o.mounts, Object.keys(imageConfig.Volumes ?? {}));
    cleanups.push(() => {
      if (o.rm || !record) for (const v of prepared.anonymousVolumes) fs.rmSync(v, { recursive: true, force: true });
    });
    // process.stdout is created on first use: for a pipe that loads net and costs ~3 ms.
    const cols = o.tty ? process.stdout.columns : undefined;
    const rows = o.tty ? process.stdout.rows : undefined;
    const spec = buildSpec({
      id,
      rootfs,
      image: imageConfig,
      command: req.command,
      options: o,
      user,
      hostname,
      etcFiles,
      mounts: prepared.mounts,
      seccomp,
      seccompIsDefault: o.seccomp.kind === 'default',
      hostDevices: o.privileged ? hostDevices() : undefined,
      consoleSize: o.tty && cols && rows ? { height: rows, width: cols } : undefined,
      cgroupParent: o.cgroupParent,
      availableCaps: boundingCaps(),
    });
    trace('engine: spec built');
    // Docker creates a missing working directory in the container's filesystem.
    if (!o.readOnly) safeDirInRootfs(rootfs, cwd, true);

    // 3. The record and its generated files.
    record = {
      Id: id,
      Name: name,
      Image: req.target,
      ImageID: imageId,
      Rootfs: req.rootfs ? rootfs : undefined,
      Created: new Date().toISOString(),
      Path: spec.process!.args![0],
      Args: spec.process!.args!.slice(1),
      State: { Status: 'created', Pid: 0, MonitorPid: process.pid, ExitCode: 0, StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME, Error: '' },
      AutoRemove: o.rm,
      AnonymousVolumes: prepared.anonymousVolumes,
      Mounts: prepared.mounts.map((m) => ({ Type: m.type, Source: m.source, Destination: m.target, RW: !m.readonly })),
      Hostname: hostname,
      NetworkMode: o.network === 'default' ? 'none' : o.network,
    };
    containers.create(record);
    cleanups.push(() => {
      if (o.rm) containers.remove(id);
    });
    writeEtcFiles(etcFiles, hostname, o.network);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2));

    // 4. The bundle, then the runtime.
    const bundle = bundleDir(req.runroot, id);
    fs.mkdirSync(bundle, { recursive: true, mode: 0o700 });
    cleanups.push(() => removeFlatDir(bundle));
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    const rtRoot = runtimeRoot(req.runroot);
    fs.mkdirSync(rtRoot, { recursive: true, mode: 0o700 });
    const api = runtimeApi();
    trace('engine: bundle written, runtime loaded');
    // runContainer deletes the container it ran; this is for failures on the way.
    let ran = false;
    cleanups.push(() => (ran ? undefined : api.deleteContainer(rtRoot, id, { force: true }).catch(() => undefined)));

    record.State.Status = 'running';
    record.State.StartedAt = new Date().toISOString();
    containers.save(record);
    // Without -i the container reads an empty stdin, as with Docker.
    const stdio = o.interactive || o.tty ? undefined : ['ignore', 'inherit', 'inherit'];
    signals.checkNotAborted();
    signals.containerStarting();
    const code = await api.runContainer({ root: rtRoot, id, bundle, stdio, warn: req.warn });
    ran = true;
    record.State.Status = 'exited';
    record.State.ExitCode = code;
    record.State.FinishedAt = new Date().toISOString();
    if (!o.rm) containers.save(record);
    await undo();
    trace('engine: cleaned up');
    return code;
  } catch (err) {
    signals.dispose();
    const e = asCartonError(err);
    const code =
      e.code === 'EEXEC_NOTFOUND' ? 127 : e.code === 'EEXEC_PERM' ? 126 : e.exitCode === 126 || e.exitCode === 127 || e.exitCode > 128 ? e.exitCode : 125;
    if (record && !o.rm) {
      record.State.Status = 'created';
      record.State.ExitCode = code;
      record.State.Error = e.message;
      record.State.FinishedAt = new Date().toISOString();
      try {
        containers.save(record);
      } catch {
        /* the record directory may be gone already */
      }
    }
    await undo();
    throw new CartonError(e.code, e.message, { hint: e.hint, cause: e.cause ?? err, exitCode: code });
  } finally {
    signals.dispose();
  }
}
