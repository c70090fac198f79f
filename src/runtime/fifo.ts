/**
 * exec.fifo joins `create` and `start`: the created container blocks opening it
 * for writing; `start` opens it for reading, reads the byte the init writes, and
 * removes it. Its presence is also what tells "created" from "running".
 */
import * as fs from 'fs';
import { CartonError } from '../common/errors';
import { addon } from './deps';
import { isSameLiveProcess } from './proc';
import { addon as nativeAddon } from '../native/addon';

export function makeFifo(path: string): void {
  let mk: unknown;
  try {
    mk = addon().mknod;
  } catch {
    mk = undefined;
  }
  if (typeof mk === 'function') {
    (mk as (p: string, mode: number, major: number, minor: number) => void)(path, 0o010000 | 0o622, 0, 0);
    fs.chmodSync(path, 0o622);
    return;
  }
  // Node has no mkfifo(3); the coreutils tool costs one fork, only on create.
  const res = (require('child_process') as typeof import('child_process')).spawnSync('mkfifo', ['-m', '0622', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (res.status !== 0) {
    throw new CartonError('EKERNEL', `mkfifo ${path}: ${res.stderr?.toString().trim() || res.error?.message}`);
  }
}

/**
 * Release a created container: open the fifo without blocking (a dead container
 * would never open its end), wait for the init's byte while the process lives.
 */
export function releaseFifo(path: string, pid: number, startTime: number, timeoutMs = 10_000): void {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CartonError('ESTATE', 'cannot start an already running container');
    }
    throw err;
  }
  const buf = Buffer.alloc(1);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      let n = 0;
      try {
        n = fs.readSync(fd, buf, 0, 1, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      }
      if (n > 0) break;
      if (!isSameLiveProcess(pid, startTime)) {
        throw new CartonError('ESTATE', 'cannot start a container that has stopped');
      }
      if (Date.now() > deadline) {
        throw new CartonError('EINTERNAL', `start: the container did not open ${path} within ${timeoutMs / 1000}s`);
      }
      // Woken by the container's byte, not a sleep's granularity (~1 ms per start); still
      // checking now and then that the container is alive.
      nativeAddon().waitReadable(fd, 50);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.rmSync(path, { force: true });
}
