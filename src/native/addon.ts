/**
 * Typed, lazily loaded access to Carton's N-API addon (native/addon) and the path of
 * carton-init. Loading is deferred to the first call: most commands never need it and
 * start-up time matters.
 *
 * Errors thrown by the addon look like Node's system errors: `.code` ('EPERM'),
 * `.errno` (negative), `.syscall`, and `.path` when there is one.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError } from '../common/errors';

export interface CartonAddon {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** null when the attribute is absent (ENODATA). */
  lgetxattr(path: string, name: string): Buffer | null;
  llistxattr(path: string): string[];
  lremovexattr(path: string, name: string): void;
  /** false when `nonblocking` and the lock is held elsewhere. */
  flock(fd: number, mode: 'sh' | 'ex' | 'un', nonblocking: boolean): boolean;
  /** Send `fd` with SCM_RIGHTS; the payload (default one NUL byte) travels with it. */
  sendFd(socketFd: number, fd: number, payload?: Buffer): void;
  /** Wait for a message carrying an fd (timeoutMs < 0 or absent: forever; ETIMEDOUT after). Returns the fd (close-on-exec). */
  recvFd(socketFd: number, timeoutMs?: number): number;
  /** Like recvFd, also returning the bytes that came with the fd (console: "/dev/pts/N"; seccomp agent: state JSON). */
  recvFdMessage(socketFd: number, timeoutMs?: number): { fd: number; payload: Buffer };
  setChildSubreaper(): void;
  /** TIOCSWINSZ on a terminal fd (the console master). */
  setWinsize(fd: number, rows: number, cols: number): void;
  /**
   * Load `insns` (8-byte BPF instructions) as a CGROUP_DEVICE program, attach it to the cgroup v2
   * directory with BPF_F_ALLOW_MULTI, then detach the programs attached before. A program the
   * verifier refuses throws with `.verifierLog` (the kernel's explanation) and changes nothing.
   */
  bpfReplaceCgroupDevice(cgroupDirPath: string, insns: Buffer): void;
  /** Ids of the device programs attached to a cgroup v2 directory. */
  bpfQueryCgroupDevice(cgroupDirPath: string): number[];
  /** Prestart (docs/prestart.md): a blocking listening unix socket at path, mode 0600. */
  listenUnix(path: string): number;
  /** Wait for one connection: [fd, peer pid, uid, gid] (SO_PEERCRED). */
  acceptCaller(listenFd: number): [number, number, number, number];
  /** A close-on-exec unix socketpair; the first end non-blocking when asked. */
  socketpair(nonblockingFirst: boolean): [number, number];
  frameSend(socketFd: number, type: string, payload: Buffer, fds: number[]): void;
  /** One frame; null at end of file; undefined when `nowait` and none has arrived. */
  frameRecv(socketFd: number, nowait: boolean): { type: string; payload: Buffer; fds: number[] } | null | undefined;
  dup2(from: number, to: number): void;
  /** Kill this process (SIGKILL) when the peer of `fd` hangs up (false: it has already); -1 stops watching. */
  watchCaller(fd: number): boolean;
  /** Take on the resource limits of `pid`; null, or the resource (RLIMIT_*) that would need raising a hard limit. */
  adoptRlimits(pid: number): number | null;
  /** prctl(PR_SET_PDEATHSIG): the signal this process gets when its parent ends (0: none). */
  setParentDeathSignal(signal: number): void;
  /** poll(2) for input on fd: whether some arrived (or end of file) within timeoutMs. */
  waitReadable(fd: number, timeoutMs: number): boolean;
}

let loaded: CartonAddon | undefined;
let buildDir: string | undefined;

/**
 * build/Release of this checkout or package. Walks up from this file so that it works
 * from dist/src/native/ and from the esbuild bundle in dist/bundle/.
 */
export function nativeBuildDir(): string {
  if (buildDir) return buildDir;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'build', 'Release');
    if (fs.existsSync(path.join(candidate, 'carton-init'))) return (buildDir = candidate);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new CartonError('EINTERNAL', 'carton native build not found (build/Release/carton-init)', {
    hint: 'run `npm run install` (node-gyp rebuild) in the Carton checkout',
  });
}

/** Path of the carton-init executable (CARTON_INIT overrides, for development). */
export function initPath(): string {
  return process.env.CARTON_INIT || path.join(nativeBuildDir(), 'carton-init');
}

export function addon(): CartonAddon {
  if (!loaded) {
    const file = path.join(nativeBuildDir(), 'carton.node');
    const mod = { exports: {} as CartonAddon };
    try {
      process.dlopen(mod, file);
    } catch (err) {
      throw new CartonError('EINTERNAL', `cannot load ${file}: ${(err as Error).message}`, { cause: err });
    }
    loaded = mod.exports;
  }
  return loaded;
}

/** A Node-style system error from the addon (has `.code` such as 'EPERM'). */
export function isSystemError(err: unknown, code?: string): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException;
  return !!e && typeof e.code === 'string' && typeof e.errno === 'number' && (code === undefined || e.code === code);
}

/**
 * Receive one fd from a unix socket without blocking the event loop (polls every few ms).
 * Use this, not a blocking recvFd, where the sender may first wait for this process —
 * carton-init connects the console socket early and sends the pty only after SYNCs
 * (user namespace maps, hooks) that this process must answer.
 * For a net.Server connection, accept with `pauseOnConnect: true` and pass
 * `(conn as any)._handle.fd`, so libuv does not read (and drop) the message first.
 */
export function recvFdAsync(socketFd: number, timeoutMs = -1): Promise<{ fd: number; payload: Buffer }> {
  const end = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      try {
        resolve(addon().recvFdMessage(socketFd, 0));
      } catch (err) {
        if (isSystemError(err, 'ETIMEDOUT') && Date.now() < end) setTimeout(attempt, 5);
        else reject(err);
      }
    };
    attempt();
  });
}
