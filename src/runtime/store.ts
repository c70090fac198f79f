/**
 * The state store: one directory per container under the runtime root
 * (`<root>/<id>/state.json`, plus `exec.fifo` while the container is created).
 * state.json is replaced atomically (temp file, fsync, rename) so a crash or a
 * concurrent reader never sees half a record.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError } from '../common/errors';
import type { LinuxNamespace, Spec } from '../oci/spec';
import { acquireLock, Lock } from './lock';

export const DEFAULT_ROOT = '/run/carton-runtime';

/** What the runtime remembers about a container. Status is never stored: see status.ts. */
export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /** Host pid of the container's first process (0 before it exists). */
  pid: number;
  /** Field 22 of /proc/<pid>/stat when the container was created: tells a reused pid apart. */
  pidStartTime: number;
  bundle: string;
  rootfs: string;
  /** RFC 3339 with nanoseconds, UTC. */
  created: string;
  annotations: Record<string, string>;
  owner: string;
  /** Cgroup directories per controller ("memory" → /sys/fs/cgroup/memory/…, "unified" / "" for v2). */
  cgroupPaths: Record<string, string>;
  /** Cgroup directories this container created (outermost first): delete removes exactly these. */
  cgroupCreated?: string[];
  /** Namespaces of the container, with paths for those it joined: exec joins the same ones. */
  namespaces: LinuxNamespace[];
  /** The config as it was at create time: hooks, process defaults for exec, resources. */
  config: Spec;
  /** Exit status of the container process when the runtime saw it exit (foreground run). */
  exitStatus?: number;
  /** Set by `start`, so a second `start` can say so clearly. */
  started?: boolean;
}

export class StateStore {
  constructor(readonly root: string = DEFAULT_ROOT) {}

  dir(id: string): string {
    return path.join(this.root, id);
  }

  fifoPath(id: string): string {
    return path.join(this.dir(id), 'exec.fifo');
  }

  /** Reserve the id: fails with a clear error when a container of that id exists. */
  reserve(id: string): void {
    validateId(id);
    fs.mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      fs.mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CartonError('EEXIST', `container with id exists: ${id}`);
      }
      throw err;
    }
  }

  exists(id: string): boolean {
    return fs.existsSync(path.join(this.dir(id), 'state.json'));
  }

  lock(id: string): Lock {
    return acquireLock(path.join(this.dir(id), '.lock'));
  }

  load(id: string): ContainerRecord {
    validateId(id);
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.dir(id), 'state.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new CartonError('ENOTFOUND', `container does not exist: ${id}`);
      }
      throw err;
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch (err) {
      throw new CartonError('EINTERNAL', `${id}: state.json is corrupt: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Replaced atomically (readers never see half a file) but not fsync'd, as runc writes its
   * state.json: a crash of the machine kills every process a record describes, and the
   * record's pid and start time then show it stopped. The fsync cost 1-4 ms per save on
   * this disk-backed /run (measured in a prestarted `start`, docs/prestart.md).
   */
  save(record: ContainerRecord): void {
    const dir = this.dir(record.id);
    writeFileAtomic(path.join(dir, 'state.json'), JSON.stringify(record), 0o600, false);
  }

  /** Remove the container's directory: the files the runtime puts there, then the dir (rm -r only for strays). */
  remove(id: string): void {
    const dir = this.dir(id);
    for (const f of ['state.json', 'exec.fifo', '.lock']) {
      try {
        fs.unlinkSync(path.join(dir, f));
      } catch {
        /* not there */
      }
    }
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Ids of every container with a state file, sorted. */
  list(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => fs.existsSync(path.join(this.root, n, 'state.json'))).sort();
  }
}

/** runc's rule for ids: letters, digits and _ + - . only; not "." or "..". */
export function validateId(id: string): void {
  if (!id) throw new CartonError('EINVAL_CONFIG', 'container id cannot be empty');
  if (!/^[\w+.-]+$/.test(id) || id === '.' || id === '..') {
    throw new CartonError('EINVAL_CONFIG', `invalid container id format: ${id}`);
  }
  if (id.length > 1024) throw new CartonError('EINVAL_CONFIG', 'container id is too long');
}

/** Write a file so readers see either the old or the new content, never a mix. */
export function writeFileAtomic(file: string, content: string, mode = 0o600, durable = true): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, content);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** RFC 3339 UTC timestamp with nanoseconds, as runc writes `created`. */
export function nowRfc3339Nano(): string {
  const ms = Date.now();
  const nanosInMs = Number(process.hrtime.bigint() % 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:00.123Z
  return `${iso.slice(0, 23)}${String(nanosInMs).padStart(6, '0')}Z`;
}
