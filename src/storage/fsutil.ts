/** Small durable-write helpers shared by the store's parts. */
import * as fs from 'fs';
import * as path from 'path';

let tempCounter = 0;

/**
 * A suffix no other temp name of this process has had (time + counter) plus a little
 * randomness against another pid namespace sharing the store. Only for names created
 * exclusively (O_EXCL, mkdir), where a clash fails loudly instead of sharing a file, so
 * it needs no crypto: loading crypto would cost every `carton run` its start-up time.
 */
export function uniqueSuffix(): string {
  tempCounter += 1;
  return `${Date.now().toString(36)}${tempCounter.toString(36)}${Math.floor(Math.random() * 0x100000).toString(36)}`;
}

/** fsync a directory so a rename inside it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsyncDir in the thread pool: the caller's thread keeps working meanwhile. */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Create `file` (which must not exist) with `data` and fsync it, off the caller's thread. */
export async function writeDurable(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const fh = await fs.promises.open(file, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Write-temp, fsync, rename, fsync-dir: readers see the old or the new file, never half.
 * `durable: false` skips the fsyncs (still atomic against a killed process, not power loss).
 */
export function writeFileAtomic(file: string, data: Buffer | string, mode = 0o644, durable = true): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${uniqueSuffix()}.tmp`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  try {
    fs.writeFileSync(fd, data);
    if (durable) fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  if (durable) fsyncDir(dir);
}

export function readJSONFile<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Start time of a process (clock ticks since boot) or undefined when it is gone: survives pid reuse. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Name prefix for temp entries owned by this process: "<pid>-<starttime>-". */
export function ownerTag(): string {
  return `${process.pid}-${processStartTime(process.pid) ?? '0'}-`;
}

/** Whether the owner named by a temp entry ("<pid>-<start>-…") is still alive. */
export function ownerAlive(name: string): boolean {
  const m = /^(\d+)-(\d+)-/.exec(name);
  if (!m) return false;
  return processStartTime(Number(m[1])) === m[2];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
