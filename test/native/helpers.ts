/**
 * Hand-written op lists for the native tests: the same shape the planner produces for
 * `runc run` of a busybox bundle, with hooks to change one piece at a time.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLONE, ForkMode, MS, MountTargetKind, Op, OpCode, S_IF, WaitStartMode } from '../../src/plan/ops';
import { makeBusyboxRootfs } from '../helpers/busybox';

export const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface TestContainer {
  dir: string;
  rootfs: string;
  cleanup(): void;
}

/** A temp dir "carton-test-native-*" holding a busybox rootfs. */
export function makeRootfs(): TestContainer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-native-'));
  const rootfs = makeBusyboxRootfs(path.join(dir, 'rootfs'));
  return { dir, rootfs, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function mount(source: string, device: string, target: string, fstype: string, flags: number, data = '',
  targetKind = MountTargetKind.IN_ROOT_CREATE_DIR): Op {
  return { op: OpCode.MOUNT, source, device, target, targetKind, fstype, flags, data };
}

function dev(p: string, major: number, minor: number): Op {
  return { op: OpCode.MKNOD, source: `devices ${p}`, path: p, mode: S_IF.CHR | 0o666, major, minor, uid: 0, gid: 0, bindFallback: p };
}

export interface ContainerOpts {
  args: string[];
  env?: string[];
  fork?: ForkMode;
  hostname?: string;
  /** Ops after the root is set and before PIVOT_ROOT (extra mounts). */
  mounts?: Op[];
  /** Ops right after FORK (e.g. OPEN_FIFO, CONSOLE_SOCKET). */
  afterFork?: Op[];
  /** Ops after PIVOT_ROOT, before LOOKUP/EXEC. */
  process?: Op[];
  /** Ops between LOOKUP and EXEC (READY, WAIT_START). */
  beforeExec?: Op[];
  preserveFds?: number;
}

/** The op list of a root container with pid, mount, uts, ipc and net namespaces. */
export function containerOps(rootfs: string, o: ContainerOpts): Op[] {
  const env = o.env ?? [PATH_ENV];
  return [
    { op: OpCode.UNSHARE, source: 'linux.namespaces', flags: CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWNET },
    { op: OpCode.FORK, source: 'fork', mode: o.fork ?? ForkMode.WAIT },
    ...(o.afterFork ?? []),
    mount('rootfsPropagation', '', '/', '', MS.REC | MS.SLAVE, '', MountTargetKind.HOST),
    mount('root.path', rootfs, rootfs, '', MS.BIND | MS.REC, '', MountTargetKind.HOST),
    { op: OpCode.SET_ROOT, source: 'root.path', path: rootfs },
    mount('mounts[0] (/proc)', 'proc', '/proc', 'proc', MS.NOSUID | MS.NODEV | MS.NOEXEC),
    mount('mounts[1] (/dev)', 'tmpfs', '/dev', 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k'),
    mount('mounts[2] (/dev/pts)', 'devpts', '/dev/pts', 'devpts', MS.NOSUID | MS.NOEXEC, 'newinstance,ptmxmode=0666,mode=0620'),
    mount('mounts[3] (/dev/shm)', 'shm', '/dev/shm', 'tmpfs', MS.NOSUID | MS.NOEXEC | MS.NODEV, 'mode=1777,size=65536k'),
    dev('/dev/null', 1, 3), dev('/dev/zero', 1, 5), dev('/dev/full', 1, 7), dev('/dev/random', 1, 8), dev('/dev/urandom', 1, 9), dev('/dev/tty', 5, 0),
    { op: OpCode.SYMLINK, source: 'dev symlinks', target: '/proc/self/fd', path: '/dev/fd' },
    { op: OpCode.SYMLINK, source: 'dev symlinks', target: 'pts/ptmx', path: '/dev/ptmx' },
    ...(o.mounts ?? []),
    { op: OpCode.PIVOT_ROOT, source: 'root.path' },
    { op: OpCode.MASK_PATH, source: 'linux.maskedPaths[0]', path: '/proc/kcore' },
    { op: OpCode.MASK_PATH, source: 'linux.maskedPaths[1]', path: '/proc/acpi' },
    { op: OpCode.MASK_PATH, source: 'linux.maskedPaths[2]', path: '/proc/does-not-exist' },
    { op: OpCode.READONLY_PATH, source: 'linux.readonlyPaths[0]', path: '/proc/sys' },
    { op: OpCode.SETHOSTNAME, source: 'hostname', name: o.hostname ?? 'carton-test' },
    ...(o.process ?? []),
    { op: OpCode.CHDIR, source: 'process.cwd', path: '/' },
    { op: OpCode.CLOSE_FDS, source: 'process', first: 3 + (o.preserveFds ?? 0) },
    { op: OpCode.LOOKUP, source: 'process.args', argv: o.args, env },
    ...(o.beforeExec ?? []),
    { op: OpCode.EXEC, source: 'process.args', argv: o.args, env },
  ];
}

/** Collect a readable stream into a string. */
export function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  if (!stream) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    let out = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => { out += c; });
    stream.on('end', () => resolve(out));
    stream.on('error', reject);
  });
}

export interface RunResult {
  out: string;
  err: string;
  exit?: { code: number; signal?: string };
  error?: import('../../src/common/errors').CartonError;
}

/** Run an op list to completion with stdout/stderr captured. */
export async function runOps(ops: Op[], extra: Partial<import('../../src/native/init-driver').StartInitOptions> = {}): Promise<RunResult> {
  const { startInit } = await import('../../src/native/init-driver');
  const h = startInit({ ops, stdio: ['ignore', 'pipe', 'pipe'], ...extra });
  const [out, err] = await Promise.all([collect(h.stdout), collect(h.stderr)]);
  const result: RunResult = { out, err };
  try {
    result.exit = await h.exit;
    await h.done;
  } catch (e) {
    result.error = e as RunResult['error'];
  }
  return result;
}

/** Accept one connection on a unix socket server and receive one fd from it without blocking the event loop. */
export function receiveFdOnce(server: import('net').Server, totalMs = 5000): Promise<{ fd: number; payload: Buffer }> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { recvFdAsync } = require('../../src/native/addon') as typeof import('../../src/native/addon');
  return new Promise((resolve, reject) => {
    server.once('connection', (conn) => {
      const fd = (conn as unknown as { _handle: { fd: number } })._handle.fd;
      recvFdAsync(fd, totalMs).then(resolve, reject).finally(() => conn.destroy());
    });
  });
}

/** A `create`-like plan: DETACH, READY, then wait at the fifo before `echo started`. */
export function createdAtFifoOps(rootfs: string, fifo: string): Op[] {
  return containerOps(rootfs, {
    args: ['sh', '-c', 'echo started'],
    fork: ForkMode.DETACH,
    afterFork: [{ op: OpCode.OPEN_FIFO, source: 'exec.fifo', path: fifo }],
    beforeExec: [
      { op: OpCode.READY, source: 'create' },
      { op: OpCode.WAIT_START, source: 'start', mode: WaitStartMode.FIFO },
    ],
  });
}
