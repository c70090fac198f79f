/**
 * Receiving a container's pty master for a foreground `run`/`exec` with a terminal
 * and no --console-socket: the runtime listens on a private unix socket, the init
 * sends the master over it (SCM_RIGHTS), and the runtime proxies its own stdio.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tty from 'tty';
import { CartonError } from '../common/errors';
import { addon } from './deps';

export interface ConsoleReceiver {
  socketPath: string;
  /** Resolves with the master fd once the init has sent it. */
  master: Promise<number>;
  close(): void;
}

export function listenForConsole(): Promise<ConsoleReceiver> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-console-'));
  const socketPath = path.join(dir, 'console.sock');
  const server = net.createServer({ pauseOnConnect: true });
  let resolveMaster!: (fd: number) => void;
  let rejectMaster!: (err: Error) => void;
  const master = new Promise<number>((res, rej) => {
    resolveMaster = res;
    rejectMaster = rej;
  });
  master.catch(() => {});
  // pauseOnConnect: libuv must not read the socket, or it would swallow (and drop) the
  // SCM_RIGHTS message. The fd is received without blocking the event loop: carton-init
  // connects early and sends the pty only after SYNCs (id maps, hooks) that this same
  // process answers, so a blocking receive here would deadlock both.
  server.on('connection', (sock) => {
    const fd = (sock as unknown as { _handle: { fd: number } })._handle.fd;
    receiveMaster(fd).then(
      (got) => {
        sock.destroy();
        resolveMaster(got);
      },
      (err: Error) => {
        sock.destroy();
        rejectMaster(err);
      },
    );
  });
  const close = (): void => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve({ socketPath, master, close }));
  });
}

/** Long enough for any create (image-sized rootfs setup, slow hooks), yet never a hang. */
export const CONSOLE_RECEIVE_TIMEOUT_MS = 5 * 60 * 1000;

async function receiveMaster(fd: number): Promise<number> {
  const native = require('../native/addon') as typeof import('../native/addon');
  if (typeof native.recvFdAsync !== 'function') {
    throw new CartonError('EUNSUPPORTED', 'console: the native addon has no recvFdAsync');
  }
  try {
    return (await native.recvFdAsync(fd, CONSOLE_RECEIVE_TIMEOUT_MS)).fd;
  } catch (err) {
    throw new CartonError('EINTERNAL', `console socket: receive the pty master: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Proxy the caller's terminal and the container's pty until the container exits.
 * Returns a function that restores the caller's terminal and stops the copy.
 */
export function proxyTerminal(masterFd: number): () => Promise<void> {
  const stdin = process.stdin as tty.ReadStream;
  const isTty = stdin.isTTY;
  if (isTty) stdin.setRawMode(true);
  const out = fs.createReadStream('', { fd: masterFd, autoClose: false, highWaterMark: 16384 });
  const inp = fs.createWriteStream('', { fd: masterFd, autoClose: false });
  out.on('data', (chunk) => process.stdout.write(chunk));
  // EIO once every slave fd is closed: the output is drained, the session is over.
  const drained = new Promise<void>((resolve) => {
    out.on('error', () => resolve());
    out.on('end', () => resolve());
    out.on('close', () => resolve());
  });
  inp.on('error', () => {});
  const onData = (chunk: Buffer): void => {
    inp.write(chunk);
  };
  stdin.on('data', onData);
  stdin.resume();
  const resize = (): void => setWindowSize(masterFd);
  if (process.stdout.isTTY) {
    resize();
    process.stdout.on('resize', resize);
  }
  return async () => {
    stdin.off('data', onData);
    stdin.pause();
    if (isTty) stdin.setRawMode(false);
    process.stdout.off('resize', resize);
    await Promise.race([drained, new Promise((r) => setTimeout(r, 2000))]);
    out.destroy();
    try {
      fs.closeSync(masterFd);
    } catch {
      /* already closed */
    }
  };
}

/** TIOCSWINSZ on the master: the container sees our size (and a SIGWINCH on change). */
function setWindowSize(masterFd: number): void {
  const rows = process.stdout.rows;
  const cols = process.stdout.columns;
  if (!rows || !cols) return;
  try {
    (addon() as { setWinsize: (fd: number, r: number, c: number) => void }).setWinsize(masterFd, rows, cols);
  } catch {
    /* the pty is gone: the session is ending */
  }
}
