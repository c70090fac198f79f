/**
 * Container records: what `carton ps -a` lists and `carton rm` removes. One directory
 * per container under `<root>/containers/<id>/` holding container.json (this record),
 * config.json (the OCI spec it ran with) and the generated hostname/hosts/resolv.conf.
 * Records are replaced atomically (temp file + rename) so a crash never leaves half a record.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError } from '../common/errors';

export type ContainerStatusName = 'created' | 'running' | 'exited';

export interface ContainerRecord {
  Id: string;
  Name: string;
  /** The image as the user named it ("busybox", or the --rootfs directory). */
  Image: string;
  /** Image id (config digest) for image runs; absent for --rootfs runs. */
  ImageID?: string;
  /** The --rootfs directory, for rootfs runs. */
  Rootfs?: string;
  Created: string;
  Path: string;
  Args: string[];
  State: {
    Status: ContainerStatusName;
    Pid: number;
    /** Pid of the `carton run` process watching the container (tells a crashed watcher apart). */
    MonitorPid: number;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
    Error: string;
  };
  AutoRemove: boolean;
  /** Host directories of anonymous volumes, removed with the container when --rm. */
  AnonymousVolumes: string[];
  Mounts: { Type: string; Source: string; Destination: string; RW: boolean }[];
  Hostname: string;
  NetworkMode: string;
}

export class ContainerStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = path.join(root, 'containers');
  }

  containerDir(id: string): string {
    return path.join(this.dir, id);
  }

  /** Docker's conflict error when a container already has `name`. */
  checkNameFree(name: string): void {
    const clash = this.list().find((r) => r.Name === name);
    if (clash) {
      throw new CartonError(
        'EEXIST',
        `Conflict. The container name "/${name}" is already in use by container "${clash.Id}". You have to remove (or rename) that container to be able to reuse that name.`,
        { exitCode: 125 },
      );
    }
  }

  create(record: ContainerRecord): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.checkNameFree(record.Name);
    fs.mkdirSync(this.containerDir(record.Id), { mode: 0o700 });
    this.save(record);
  }

  /** Replace the record; a record already removed (`rm -f` while running) stays removed. */
  save(record: ContainerRecord): void {
    if (!fs.existsSync(this.containerDir(record.Id))) return;
    const file = path.join(this.containerDir(record.Id), 'container.json');
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(record, null, 2));
    fs.renameSync(tmp, file);
  }

  get(id: string): ContainerRecord | undefined {
    try {
      return this.refresh(JSON.parse(fs.readFileSync(path.join(this.containerDir(id), 'container.json'), 'utf8')) as ContainerRecord);
    } catch {
      return undefined;
    }
  }

  list(): ContainerRecord[] {
    let ids: string[];
    try {
      ids = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: ContainerRecord[] = [];
    for (const id of ids) {
      const r = this.get(id);
      if (r) out.push(r);
    }
    return out.sort((a, b) => (a.Created < b.Created ? 1 : a.Created > b.Created ? -1 : 0));
  }

  /** Find by full id, name, or unambiguous id prefix (Docker's lookup order). */
  find(query: string): ContainerRecord {
    const all = this.list();
    const q = query.replace(/^\//, '');
    const exact = all.find((r) => r.Id === q) ?? all.find((r) => r.Name === q);
    if (exact) return exact;
    const byPrefix = /^[0-9a-f]+$/.test(q) ? all.filter((r) => r.Id.startsWith(q)) : [];
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw new CartonError('EINVAL_CONFIG', `Error response from daemon: multiple IDs found with provided prefix: ${q}`);
    throw new CartonError('ENOTFOUND', `Error response from daemon: No such container: ${query}`);
  }

  remove(id: string): void {
    removeFlatDir(this.containerDir(id));
  }

  /** A record saying "running" whose watcher and process are gone is really exited. */
  private refresh(r: ContainerRecord): ContainerRecord {
    if (r.State.Status === 'running' && !alive(r.State.MonitorPid) && !alive(r.State.Pid)) {
      r.State.Status = 'exited';
      // When the watcher died is unknown; its start is the best bound there is.
      if (!r.State.FinishedAt || r.State.FinishedAt.startsWith('0001')) r.State.FinishedAt = r.State.StartedAt;
      if (!r.State.ExitCode) r.State.ExitCode = 255;
    }
    return r;
  }
}

/**
 * Remove a directory of plain files (a record, a bundle): unlink each, then rmdir. What
 * fs.rmSync's recursive walk costs is ~0.5 ms per directory on every `carton run --rm`
 * (its JavaScript runs cold each time); anything unexpected (a subdirectory) falls back to it.
 */
export function removeFlatDir(dir: string): void {
  try {
    for (const name of fs.readdirSync(dir)) fs.unlinkSync(path.join(dir, name));
    fs.rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(dir)) return;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Image ids in use by recorded containers (for rmi's in-use check). */
export function containersUsingImage(store: ContainerStore, imageId: string): string[] {
  return store.list().filter((r) => r.ImageID === imageId).map((r) => r.Id);
}

/** `"sh -c 'echo hi'"` as ps shows it: truncated to 20 characters unless noTrunc, then quoted. */
export function commandColumn(r: ContainerRecord, noTrunc: boolean): string {
  let cmd = [r.Path, ...r.Args].join(' ');
  const chars = [...cmd];
  if (!noTrunc && chars.length > 20) cmd = chars.slice(0, 19).join('') + '…';
  return JSON.stringify(cmd);
}
