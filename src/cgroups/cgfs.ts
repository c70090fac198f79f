/**
 * Small synchronous helpers for cgroup files. cgroupfs wants one write() per value
 * and files opened write-only (several are mode 0200 and kernfs refuses O_RDWR on
 * them), and a missing file must surface as ENOENT, not be created.
 */
import * as fs from 'fs';
import * as path from 'path';
import { nodeErrorReason } from '../common/errors';

export function writeCgroupFile(dir: string, file: string, value: string): void {
  const fd = fs.openSync(path.join(dir, file), fs.constants.O_WRONLY);
  try {
    fs.writeSync(fd, value);
  } finally {
    fs.closeSync(fd);
  }
}

export function readCgroupFile(dir: string, file: string): string {
  return fs.readFileSync(path.join(dir, file), 'utf8');
}

/** The file's content, or undefined when it does not exist (or the cgroup is gone). */
export function tryRead(dir: string, file: string): string | undefined {
  try {
    return readCgroupFile(dir, file);
  } catch {
    return undefined;
  }
}

/** A file of one integer ("max" → undefined). */
export function readNumber(dir: string, file: string): number | undefined {
  const t = tryRead(dir, file);
  if (t === undefined) return undefined;
  const v = t.trim();
  if (v === '' || v === 'max') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events) → record. */
export function readKeyValues(dir: string, file: string): Record<string, number> {
  const out: Record<string, number> = {};
  const t = tryRead(dir, file);
  if (t === undefined) return out;
  for (const line of t.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) out[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return out;
}

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Block this thread for `ms` (the manager is synchronous by design). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Every pid in cgroup.procs of dir and its descendants. */
export function pidsRecursive(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string): void => {
    const procs = tryRead(d, 'cgroup.procs');
    if (procs === undefined) return;
    for (const l of procs.split('\n')) if (l) out.push(Number(l));
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  walk(dir);
  return out;
}

/** rmdir that reports whether the directory is gone (EBUSY/ENOTEMPTY: not yet). */
export function rmdirIfEmpty(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
    return true;
  } catch (err) {
    return errnoCode(err) === 'ENOENT';
  }
}

/** rmdir a cgroup and any sub-cgroups the container made, retrying EBUSY briefly; an error text or undefined. */
export function removeTree(dir: string): string | undefined {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    return errnoCode(err) === 'ENOENT' ? undefined : `${dir}: ${nodeErrorReason(err)}`;
  }
  for (const e of entries) {
    if (e.isDirectory()) {
      const err = removeTree(path.join(dir, e.name));
      if (err) return err;
    }
  }
  for (let i = 0; ; i++) {
    try {
      fs.rmdirSync(dir);
      return undefined;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return undefined;
      if (code !== 'EBUSY' || i >= 50) return `${dir}: ${nodeErrorReason(err)}`;
      sleepSync(10);
    }
  }
}
