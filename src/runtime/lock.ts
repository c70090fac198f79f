/**
 * Per-container lock so that two runtime commands (e.g. Podman's `kill` racing
 * `delete`) never read-modify-write the same state. Uses flock(2) from the addon
 * when it is present; otherwise an O_EXCL lock file holding the owner's pid, with
 * stale files (owner gone) taken over.
 */
import * as fs from 'fs';
import { CartonError } from '../common/errors';
import { sleepMs } from './proc';

export interface Lock {
  release(): void;
}

type FlockFn = (fd: number, how: 'sh' | 'ex' | 'un', nonBlocking: boolean) => boolean;

function addonFlock(): FlockFn | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const f = (require('./deps') as typeof import('./deps')).addon().flock;
    return typeof f === 'function' ? (f as FlockFn) : undefined;
  } catch {
    return undefined;
  }
}

/** Take the lock file at `path` (created when missing), waiting up to `timeoutMs`. */
export function acquireLock(path: string, timeoutMs = 10_000): Lock {
  const flock = addonFlock();
  if (flock) {
    const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      flock(fd, 'ex', false);
    } catch (err) {
      fs.closeSync(fd);
      throw new CartonError('EINTERNAL', `lock ${path}: ${(err as Error).message}`, { cause: err });
    }
    return { release: () => fs.closeSync(fd) };
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return {
        release: () => {
          try {
            fs.unlinkSync(path);
          } catch {
            /* the directory may already be gone (delete) */
          }
        },
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw err;
    }
    let owner = 0;
    try {
      owner = Number(fs.readFileSync(path, 'utf8')) || 0;
    } catch {
      continue;
    }
    if (owner > 0 && !alive(owner)) {
      try {
        fs.unlinkSync(path);
      } catch {
        /* someone else took it over first */
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new CartonError('EINTERNAL', `timed out waiting for lock ${path} (held by pid ${owner})`);
    }
    sleepMs(10);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
