/**
 * One prestarted worker (docs/prestart.md): Node already started and Carton's code loaded,
 * it waits for one client, checks that it may act for it (caller-check.ts), takes on the
 * caller's stdio, working directory, umask, environment and arguments, and runs the command
 * as a cold start would. carton-init is started by the client (caller-link.ts). Its exit
 * status goes back to the client, which exits with it. One command per worker: everything
 * a command may change in its process (environment, handlers, caches) dies with it.
 */
import * as fs from 'fs';
import { addon } from '../native/addon';
import { setCaller } from '../common/caller';
import { refusalReason, umaskOf } from './caller-check';
import { callerLink } from './caller-link';
import { bundleIdentity, CallerRequest, decodeRequest, int32s } from './protocol';

export interface WorkerOptions {
  /** bin/<program>.js: process.argv[1], as in a cold start. */
  script: string;
  /** The bundle this worker runs: the client must belong to the same build. */
  bundleFile: string;
  /** The pool's listening socket and the pipe that tells the pool "ready", "taken" and "serving". */
  listenFd: number;
  poolFd: number;
  /** Load the commands' modules before a caller waits for them. */
  prewarm(): void;
  /** The command line's main, as bin/<program>.js runs it (exit status through process.exit/exitCode). */
  runMain(): void;
  /** After the caller has its status and its stdio back: keep the code cache, say. */
  afterCaller?(code: number, args: string[]): void;
}

export function serveOneCaller(o: WorkerOptions): void {
  o.prewarm();
  const a = addon();
  const identity = bundleIdentity(fs.statSync(o.bundleFile, { bigint: true }));
  fs.writeSync(o.poolFd, 'R');
  const [conn, pid, uid, gid] = a.acceptCaller(o.listenFd);
  fs.writeSync(o.poolFd, 'T');
  fs.closeSync(o.listenFd);

  const frame = a.frameRecv(conn, false);
  if (!frame || frame.type !== 'Q') process.exit(0);
  let request: CallerRequest | undefined;
  let why: string | undefined;
  try {
    request = decodeRequest(frame.payload);
  } catch (err) {
    why = (err as Error).message;
  }
  if (!why && request?.identity !== identity) why = 'the client belongs to another build of Carton';
  if (!why && frame.fds.length !== 3) why = 'the request carries no stdio';
  // A measurement switch that starts the init with child_process, as this worker's own child.
  if (!why && request?.env.CARTON_INIT_SPAWN === 'node') why = 'CARTON_INIT_SPAWN=node';
  why ??= refusalReason(pid, uid, gid);
  if (!why) {
    // The caller's limits (Podman lowers nproc, say): lowering is always possible.
    const limit = a.adoptRlimits(pid);
    if (limit !== null) why = `caller has a higher hard limit for resource ${limit} than this worker may set`;
  }
  let callerStatus = '';
  try {
    callerStatus = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (err) {
    why ??= `cannot inspect the caller: ${(err as Error).message}`;
  }
  if (why || !request) {
    a.frameSend(conn, 'N', Buffer.from(why ?? 'refused'), []);
    process.exit(0);
  }
  a.frameSend(conn, 'A', int32s(process.pid), []);
  // The client commits with 'G'; one that gave up waiting has closed the socket instead.
  const go = a.frameRecv(conn, false);
  if (!go || go.type !== 'G') process.exit(0);
  fs.writeSync(o.poolFd, 'S');
  fs.closeSync(o.poolFd);
  // From here on, a caller that dies (even by SIGKILL) takes this worker with it.
  a.watchCaller(conn);
  adoptCaller(pid, request, frame.fds, callerStatus, o.script);
  setCaller(pid, callerLink(conn));
  const args = request.args;
  process.on('exit', (code) => {
    a.watchCaller(-1);
    try {
      a.frameSend(conn, 'X', int32s(code), []);
    } catch {
      /* the client is gone */
    }
    // Let go of the caller's stdio now: a shell reading our stdout waits for every copy.
    const devNull = fs.openSync('/dev/null', 'r+');
    for (let fd = 0; fd <= 2; fd++) a.dup2(devNull, fd);
    o.afterCaller?.(code, args);
  });
  o.runMain();
}

/** Become the caller's command: its stdio, cwd, umask, environment and arguments. */
function adoptCaller(pid: number, request: CallerRequest, stdio: number[], status: string, script: string): void {
  const a = addon();
  stdio.forEach((fd, i) => {
    a.dup2(fd, i);
    fs.closeSync(fd);
  });
  // The magic link reaches the caller's directory even where its path does not resolve here.
  process.chdir(`/proc/${pid}/cwd`);
  const umask = umaskOf(status);
  if (umask !== undefined) process.umask(umask);
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, request.env);
  process.argv = [process.argv[0], script, ...request.args];
}
