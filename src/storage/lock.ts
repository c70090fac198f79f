/**
 * The store's metadata lock, across processes.
 *
 * With the native addon's flock() it is a real flock(2) on <root>/store.lock (shared or
 * exclusive, released by the kernel if we die). On a checkout without the built addon it
 * is an O_EXCL lock file holding "<pid> <starttime>": a holder that died is
 * detected by its start time and the lock broken under a second, short-lived breaker file,
 * so two waiters cannot both break it and then both enter. In that mode 'sh' acts as 'ex'.
 * Within one process, callers queue on a promise chain first (no re-entrancy: don't nest).
 */
import * as fs from 'fs';
import { CartonError } from '../common/errors';
import { addon as loadAddon, CartonAddon } from '../native/addon';
import { processStartTime, sleep } from './fsutil';

type FlockFn = CartonAddon['flock'];

function addonFlock(): FlockFn | undefined {
  if (process.env.CARTON_STORE_NO_ADDON === '1') return undefined; // see sys.ts
  try {
    const a = loadAddon();
    return a.flock.bind(a);
  } catch {
    return undefined;
  }
}

export class StoreLock {
  private queue: Promise<void> = Promise.resolve();
  private holders = 0;

  constructor(private readonly file: string, private readonly timeoutMs = 120_000) {}

  async acquire(mode: 'ex' | 'sh'): Promise<() => void> {
    let releaseQueue!: () => void;
    const prev = this.queue;
    this.queue = new Promise((r) => (releaseQueue = r));
    await prev;
    try {
      const unlock = await this.acquireFile(mode);
      this.holders++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        this.holders--;
        try {
          unlock();
        } finally {
          releaseQueue();
        }
      };
    } catch (err) {
      releaseQueue();
      throw err;
    }
  }

  /**
   * For synchronous best-effort work (layer prune): the lock if it is free right now, a
   * no-op release if this process already holds it, or null if another process does.
   */
  tryAcquireSync(): (() => void) | null {
    if (this.holders > 0) return () => undefined;
    const flock = addonFlock();
    if (flock) {
      const fd = fs.openSync(this.file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
      let got = false;
      try {
        got = flock(fd, 'ex', true) !== false;
      } catch {
        got = false;
      }
      if (!got) {
        fs.closeSync(fd);
        return null;
      }
      return () => { try { flock(fd, 'un', false); } finally { fs.closeSync(fd); } };
    }
    const file = `${this.file}.pid`;
    this.breakIfStale(file);
    try {
      const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      fs.writeSync(fd, `${process.pid} ${processStartTime(process.pid) ?? 0}`);
      fs.closeSync(fd);
      return () => fs.rmSync(file, { force: true });
    } catch {
      return null;
    }
  }

  private async acquireFile(mode: 'ex' | 'sh'): Promise<() => void> {
    const flock = addonFlock();
    const deadline = Date.now() + this.timeoutMs;
    if (flock) {
      const fd = fs.openSync(this.file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
      for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
        let got = false;
        try {
          got = flock(fd, mode, true) !== false;
        } catch (err) {
          if (!/EWOULDBLOCK|EAGAIN|temporarily/i.test(String((err as Error).message ?? err))) {
            fs.closeSync(fd);
            throw err;
          }
        }
        if (got) return () => { try { flock(fd, 'un', false); } finally { fs.closeSync(fd); } };
        if (Date.now() > deadline) { fs.closeSync(fd); throw this.timeout(); }
        await sleep(wait);
      }
    }
    const me = `${process.pid} ${processStartTime(process.pid) ?? 0}`;
    const file = `${this.file}.pid`;
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      try {
        const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
        fs.writeSync(fd, me);
        fs.closeSync(fd);
        return () => fs.rmSync(file, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      this.breakIfStale(file);
      if (Date.now() > deadline) throw this.timeout();
      await sleep(wait);
    }
  }

  private breakIfStale(file: string): void {
    const holder = readHolder(file);
    if (holder === undefined || holderAlive(holder)) return;
    if (holder === '' && !olderThan(file, 5_000)) return; // its writer may be between create and write
    const breaker = `${file}.break`;
    try {
      const st = fs.statSync(breaker);
      if (Date.now() - st.mtimeMs > 10_000) fs.rmSync(breaker, { force: true }); // a breaker that died
    } catch {
      /* no breaker */
    }
    let fd: number;
    try {
      fd = fs.openSync(breaker, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    } catch {
      return; // someone else is breaking it
    }
    try {
      if (readHolder(file) === holder) fs.rmSync(file, { force: true });
    } finally {
      fs.closeSync(fd);
      fs.rmSync(breaker, { force: true });
    }
  }

  private timeout(): CartonError {
    return new CartonError('ESTATE', `image store is locked (${this.file}) by another process`, {
      hint: 'another carton command is changing the store; retry when it finishes',
    });
  }
}

function readHolder(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function olderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > ms;
  } catch {
    return false;
  }
}

function holderAlive(holder: string): boolean {
  const [pid, start] = holder.split(' ');
  if (!pid || !start) return false; // half-written: its writer died between create and write
  return processStartTime(Number(pid)) === start;
}
