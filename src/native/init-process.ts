/**
 * The carton-init process and its end of the plan socket, started one of two ways:
 *
 * - through the addon (posix_spawn + socketpair): no child_process/net modules to load
 *   (~3 ms of start-up) and no fork of this 40 MB process. The init is reaped once it has
 *   closed the socket. A FORK WAIT plan (run, foreground exec) holds the event loop until
 *   the end anyway: its socket is read in libuv's thread pool. Any other plan (create)
 *   must let this process exit while the container waits for `start`: its socket is
 *   non-blocking and polled every millisecond, a timer that unref() releases.
 * - through child_process.spawn: when stdio pipes are wanted.
 *
 * Both report the same events to init-driver.ts.
 */
import type { ChildProcess, StdioOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import type { Socket } from 'net';
import type { Readable, Writable } from 'stream';
import { addon } from './addon';
import { callerInitSpawner } from '../common/caller';

export interface InitProcessEvents {
  data(chunk: Buffer): void;
  /** The socket reached end of file (every holder closed it or exited). */
  close(): void;
  /** The init could not be started. */
  error(err: Error): void;
  exit(code: number | null, signal: NodeJS.Signals | null): void;
}

export interface InitProcess {
  via: 'addon' | 'child_process';
  /** -1 when it could not be started. */
  pid: number;
  /** Send bytes on the socket; ignored once it is closed (the init's own report explains why). */
  write(buf: Buffer): void;
  unref(): void;
  ref(): void;
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
}

export function spawnWithChildProcess(file: string, stdio: StdioOptions, sockFd: number, ev: InitProcessEvents): InitProcess {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { spawn } = require('child_process') as typeof import('child_process');
  const child: ChildProcess = spawn(file, [], { stdio, env: { CARTON_INIT_FD: String(sockFd) } });
  const sock = child.stdio[sockFd] as Socket | null;
  if (!sock) {
    ev.error(new Error('cannot create the carton-init socket'));
  } else {
    sock.on('data', (chunk: Buffer) => ev.data(chunk));
    sock.on('error', () => undefined); // EPIPE/ECONNRESET show up as the init's own failure
    sock.on('close', () => ev.close());
  }
  child.on('error', (err) => ev.error(err));
  child.on('exit', (code, signal) => ev.exit(code, signal));
  return {
    via: 'child_process',
    pid: child.pid ?? -1,
    write(buf) {
      if (sock && !sock.destroyed) sock.write(buf);
    },
    unref() {
      child.unref();
      sock?.unref();
    },
    ref() {
      child.ref();
      sock?.ref();
    },
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
  };
}

type SpawnInit = (file: string, fds: number[], envEntry: string, nonblocking: boolean) => [number, number];
type WaitpidNoHang = (pid: number) => number | null;

/**
 * The child's fds 0 .. sockFd-1 from `stdio` ('inherit', 'ignore' or an fd of this
 * process), the socket at sockFd. Undefined (use child_process) when the addon lacks the
 * calls, a pipe is wanted, or an fd would have to move below sockFd (a swap needs the
 * careful shuffling libuv does).
 */
export function spawnWithAddon(
  file: string,
  stdio: StdioOptions,
  sockFd: number,
  ev: InitProcessEvents,
  mode: 'wait' | 'poll',
): InitProcess | undefined {
  const entries = Array.isArray(stdio) ? stdio : undefined;
  if (!entries || entries.length !== sockFd + 1) return undefined;
  let spawnInit: SpawnInit | undefined;
  let waitpidNoHang: WaitpidNoHang | undefined;
  let nonblockingSupported = false;
  const caller = callerInitSpawner();
  if (caller) {
    // A prestarted worker: the client starts the init, so that it is the caller's child.
    spawnInit = caller.spawnInit;
    waitpidNoHang = caller.waitStatus;
    nonblockingSupported = true;
  } else {
    try {
      const a = addon() as unknown as { spawnInit?: SpawnInit; waitpidNoHang?: WaitpidNoHang; spawnInitNonblocking?: boolean };
      spawnInit = a.spawnInit;
      waitpidNoHang = a.waitpidNoHang;
      nonblockingSupported = a.spawnInitNonblocking === true;
    } catch {
      return undefined;
    }
  }
  if (typeof spawnInit !== 'function' || typeof waitpidNoHang !== 'function') return undefined;
  // An addon built before the non-blocking socket existed would make the poll block.
  if (mode === 'poll' && !nonblockingSupported) return undefined;
  const fds: number[] = [];
  let devNull = -1;
  for (let i = 0; i < sockFd; i++) {
    const e = entries[i];
    if (e === 'inherit' || e === undefined) fds.push(i);
    else if (typeof e === 'number' && Number.isInteger(e) && (e === i || e >= sockFd)) fds.push(e);
    else if (e === 'ignore') {
      if (devNull < 0) devNull = fs.openSync('/dev/null', 'r+') // close-on-exec, as every fd libuv opens;
      if (devNull < sockFd) {
        fs.closeSync(devNull);
        return undefined;
      }
      fds.push(devNull);
    } else {
      if (devNull >= 0) fs.closeSync(devNull);
      return undefined;
    }
  }
  if (entries[sockFd] !== 'pipe') {
    if (devNull >= 0) fs.closeSync(devNull);
    return undefined;
  }

  let pid = -1;
  let fd = -1;
  try {
    [pid, fd] = spawnInit(file, fds, `CARTON_INIT_FD=${sockFd}`, mode === 'poll');
  } catch (err) {
    ev.error(err as Error);
  } finally {
    if (devNull >= 0) fs.closeSync(devNull);
  }
  let open = fd >= 0;
  const closed = (): void => {
    open = false;
    awaitExit(pid, waitpidNoHang, ev);
  };
  const poller = mode === 'poll' && open ? pollLoop(fd, ev, closed) : undefined;
  if (mode === 'wait' && open) readLoop(fd, Buffer.allocUnsafe(64 * 1024), ev, closed);
  return {
    via: 'addon',
    pid,
    write(buf) {
      let off = 0;
      try {
        while (open && off < buf.length) {
          try {
            off += fs.writeSync(fd, buf, off, buf.length - off);
          } catch (err) {
            // A non-blocking socket with a full buffer: the init is reading the plan.
            if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
          }
        }
      } catch {
        // EPIPE: the init is gone; its ERROR message or exit status says why
      }
    },
    // 'wait': the pending read holds the loop until the init ends (see the module comment).
    unref() {
      poller?.unref();
    },
    ref() {
      poller?.ref();
    },
    stdin: null,
    stdout: null,
    stderr: null,
  };
}

/**
 * Read a non-blocking socket every millisecond until end of file. A DETACH init sends a
 * few messages within milliseconds, then the caller unrefs (the container waits for
 * `start` with the socket open): the timer stops holding the event loop.
 */
function pollLoop(fd: number, ev: InitProcessEvents, closed: () => void): { unref(): void; ref(): void } {
  const buf = Buffer.allocUnsafe(64 * 1024);
  let held = true;
  let timer: NodeJS.Timeout | undefined;
  const poll = (): void => {
    timer = undefined;
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EINTR') break;
        n = 0; // ECONNRESET and the like: the init is gone
      }
      if (n === 0) {
        closed();
        fs.closeSync(fd);
        ev.close();
        return;
      }
      ev.data(Buffer.from(buf.subarray(0, n)));
    }
    timer = setTimeout(poll, 1);
    if (!held) timer.unref();
  };
  timer = setTimeout(poll, 1);
  return {
    unref() {
      held = false;
      timer?.unref();
    },
    ref() {
      held = true;
      timer?.ref();
    },
  };
}

/** Read the socket in the thread pool until end of file, then close it. */
function readLoop(fd: number, buf: Buffer, ev: InitProcessEvents, closed: () => void): void {
  fs.read(fd, buf, 0, buf.length, null, (err, n) => {
    if (err && (err as NodeJS.ErrnoException).code === 'EINTR') return readLoop(fd, buf, ev, closed);
    if (err || n === 0) {
      closed();
      fs.closeSync(fd);
      ev.close();
      return;
    }
    ev.data(Buffer.from(buf.subarray(0, n)));
    readLoop(fd, buf, ev, closed);
  });
}

/**
 * Reap the init. Called once the socket is closed: it has exited or is about to (FORK WAIT
 * parent after its report), so a short poll suffices and no SIGCHLD handler is needed.
 */
function awaitExit(pid: number, waitpidNoHang: WaitpidNoHang, ev: InitProcessEvents): void {
  let status: number | null;
  try {
    status = waitpidNoHang(pid);
  } catch {
    // ECHILD: reaped elsewhere, its status is lost (the driver then relies on the EXIT report)
    ev.exit(null, null);
    return;
  }
  if (status === null) {
    setTimeout(() => awaitExit(pid, waitpidNoHang, ev), 1);
    return;
  }
  const sig = status & 0x7f;
  if (sig === 0) ev.exit((status >> 8) & 0xff, null);
  else {
    const name = Object.entries(os.constants.signals).find(([, n]) => n === sig)?.[0] as NodeJS.Signals | undefined;
    ev.exit(null, name ?? null);
  }
}
