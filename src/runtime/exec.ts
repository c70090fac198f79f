/**
 * exec: a new process in a running container's namespaces and cgroup. The process
 * comes from --process FILE or from the command line over the container's own
 * process settings (env, capabilities, user…), as runc builds it.
 */
import * as fs from 'fs';
import { CartonError } from '../common/errors';
import type { Process } from '../oci/spec';
import type { ExecPlanContext } from '../plan/inputs';
import type { ConsoleReceiver } from './console';
import { lsmSkipWarnings } from './lsm-skips';
// console (net, tty) is loaded only for a terminal: most runs do not pay for it.
const consoleModule = (): typeof import('./console') => require('./console') as typeof import('./console');
import { buildExecPlan, cgroupsFromState, startInit, InitStdio } from './deps';
import { describePlan, planExtras } from './create';
import { loadContainer } from './lifecycle';
import { exitCodeOf, forwardSignals } from './run';
import { writeFileAtomic } from './store';
import { seccompAgentPayload } from './seccomp-agent';
import { apparmorEnabled, homeFromPasswd, setgroupsDeniedFor } from './host-facts';

export interface ExecOptions {
  root?: string;
  id: string;
  /** Path of a process.json, or '-' for stdin. */
  processFile?: string;
  args?: string[];
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  tty?: boolean;
  cwd?: string;
  env?: string[];
  user?: string;
  additionalGids?: number[];
  preserveFds?: number;
  noNewPrivs?: boolean;
  cap?: string[];
  stdio?: InitStdio[];
  /** Receives debug lines (the plan, one op a line) when --debug is on. */
  debug?: (msg: string) => void;
  /** Things asked for but not applied (an AppArmor profile this host cannot load). */
  warn?: (msg: string) => void;
}

/** Returns the exit code of the process (0 when detached). */
export async function execInContainer(opts: ExecOptions): Promise<number> {
  const { record, status } = loadContainer(opts.root, opts.id);
  if (status === 'stopped') throw new CartonError('ESTATE', `cannot exec in a stopped container: ${opts.id}`);
  if (status === 'paused') throw new CartonError('ESTATE', `cannot exec in a paused container: ${opts.id}`);
  const proc = buildProcess(opts, record.config.process);
  for (const w of lsmSkipWarnings({ process: proc })) opts.warn?.(w);
  if (proc.terminal && opts.detach && !opts.consoleSocket) {
    throw new CartonError('EINVAL_CONFIG', '--tty with --detach: --console-socket is required to receive the terminal');
  }
  if (opts.consoleSocket && !fs.existsSync(opts.consoleSocket)) {
    throw new CartonError('ENOTFOUND', `--console-socket (${opts.consoleSocket}): no such file or directory`);
  }
  let receiver: ConsoleReceiver | undefined;
  let consoleSocket = opts.consoleSocket;
  if (proc.terminal && !consoleSocket) {
    receiver = await consoleModule().listenForConsole();
    consoleSocket = receiver.socketPath;
  }
  let stopProxy: (() => Promise<void>) | undefined;
  // As in run: signals are caught from the start and passed on once the pid is known.
  const signals = opts.detach ? undefined : forwardSignals();
  try {
    const ctx: ExecPlanContext = {
      containerPid: record.pid,
      namespaces: (record.namespaces ?? []).map((n) => n.type),
      detach: !!opts.detach,
      consoleSocket,
      preserveFds: opts.preserveFds ?? 0,
      setgroupsDenied: setgroupsDeniedFor(record.pid),
      apparmorEnabled: apparmorEnabled(),
      // /proc/<pid>/root: the container's root with its mounts (a bind-mounted passwd too).
      home: proc.user ? homeFromPasswd(`/proc/${record.pid}/root`, proc.user.uid) : undefined,
    };
    const cg = cgroupsFromState(record.cgroupPaths);
    ctx.cgroupJoin = cg.joinPlan?.();
    const ops = buildExecPlan(proc, ctx, record.config, planExtras(record.config));
    if (opts.debug) for (const line of describePlan(ops)) opts.debug(line);
    const init = await startInit({
      ops,
      preserveFds: opts.preserveFds ?? 0,
      stdio: opts.stdio,
      beforePlan: ctx.cgroupJoin ? undefined : (initPid: number) => cg.addProcess(initPid),
      // The only SYNC of an exec plan: the state the seccomp agent gets with the notify fd.
      onSync: async (tag: string) => {
        if (tag !== 'seccomp-listener') return;
        const pid = await init.containerPid;
        return seccompAgentPayload(record.config, record, pid, 'running');
      },
    });
    try {
      await init.ready;
    } catch (err) {
      init.kill('SIGKILL');
      throw err;
    }
    const pid = await init.containerPid;
    if (opts.pidFile) writeFileAtomic(opts.pidFile, String(pid), 0o644, false);
    if (opts.detach) return 0;
    signals?.to(pid);
    if (receiver) stopProxy = consoleModule().proxyTerminal(await receiver.master);
    return exitCodeOf(await init.exit);
  } finally {
    signals?.stop();
    if (stopProxy) await stopProxy();
    if (receiver) receiver.close();
  }
}

function buildProcess(opts: ExecOptions, base: Process | undefined): Process {
  if (opts.processFile) {
    let text: string;
    try {
      text = fs.readFileSync(opts.processFile === '-' ? 0 : opts.processFile, 'utf8');
    } catch (err) {
      throw new CartonError('ENOTFOUND', `--process (${opts.processFile}): ${(err as Error).message}`);
    }
    let p: Process;
    try {
      p = JSON.parse(text) as Process;
    } catch (err) {
      throw new CartonError('EINVAL_CONFIG', `--process (${opts.processFile}): invalid JSON: ${(err as Error).message}`);
    }
    if (p && typeof p === 'object' && !p.user) p.user = { uid: 0, gid: 0 };
    if (p && typeof p === 'object' && !p.cwd) p.cwd = '/';
    (require('../oci/validate') as typeof import('../oci/validate')).validateProcess(p, `--process (${opts.processFile})`);
    if (!p.args || p.args.length === 0) throw new CartonError('EINVAL_CONFIG', `--process (${opts.processFile}): args must not be empty`);
    return p;
  }
  if (!opts.args || opts.args.length === 0) throw new CartonError('EINVAL_CONFIG', 'exec: a command to run is required (ARGS or --process)');
  const b: Process = base ?? { user: { uid: 0, gid: 0 }, cwd: '/' };
  const env = mergeEnv(b.env ?? [], opts.env ?? []);
  const user = { ...b.user, additionalGids: b.user.additionalGids ? [...b.user.additionalGids] : undefined };
  if (opts.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(opts.user);
    if (!m) throw new CartonError('EINVAL_CONFIG', `--user (${opts.user}): must be uid[:gid] in numbers`);
    user.uid = Number(m[1]);
    user.gid = m[2] !== undefined ? Number(m[2]) : 0;
  }
  if (opts.additionalGids && opts.additionalGids.length > 0) user.additionalGids = opts.additionalGids;
  const caps = b.capabilities ? JSON.parse(JSON.stringify(b.capabilities)) : undefined;
  if (opts.cap && opts.cap.length > 0 && caps) {
    for (const set of ['bounding', 'effective', 'permitted', 'ambient', 'inheritable'] as const) {
      if (set === 'ambient' || set === 'inheritable') continue;
      caps[set] = Array.from(new Set([...(caps[set] ?? []), ...opts.cap]));
    }
  }
  return {
    ...b,
    terminal: !!opts.tty,
    consoleSize: undefined,
    args: opts.args,
    env,
    cwd: opts.cwd ?? b.cwd ?? '/',
    user,
    capabilities: caps,
    noNewPrivileges: opts.noNewPrivs || b.noNewPrivileges,
  };
}

function mergeEnv(base: string[], extra: string[]): string[] {
  const out = new Map<string, string>();
  for (const kv of [...base, ...extra]) {
    const eq = kv.indexOf('=');
    out.set(eq >= 0 ? kv.slice(0, eq) : kv, kv);
  }
  return [...out.values()];
}
