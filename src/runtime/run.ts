/**
 * run: create and start in one process. In the foreground the runtime forwards
 * signals to the container, waits for it, and exits with its code (128+signal
 * when it was killed); the container is then deleted unless --keep.
 * With --detach it is create + start through exec.fifo, as runc does.
 */
import { loadBundle } from './bundle';
import type { ConsoleReceiver } from './console';
// console (net, tty) is loaded only for a terminal: most runs do not pay for it.
const consoleModule = (): typeof import('./console') => require('./console') as typeof import('./console');
import { createContainer, CreateOptions } from './create';
import { runHooksWarnOnly } from './hooks';
import { destroyContainer, startContainer } from './lifecycle';
import { signalProcess } from './proc';
import { stateJson } from './status';
import { trace } from './trace';

export interface RunOptions extends Omit<CreateOptions, 'mode'> {
  detach?: boolean;
  keep?: boolean;
}

/** Signals a foreground runtime passes on to the container instead of dying of them. */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/**
 * Catch FORWARDED_SIGNALS from now on (run, foreground exec): one that arrives before the
 * process exists is held and passed on as soon as to(pid) names it, never fatal to us.
 */
export function forwardSignals(): { to(pid: number): void; stop(): void } {
  const sigs = require('os').constants.signals as Record<string, number>;
  let target = 0;
  const pending: number[] = [];
  const handlers = FORWARDED_SIGNALS.map((sig): [NodeJS.Signals, () => void] => [sig, () => {
    if (target) signalProcess(target, sigs[sig]);
    else pending.push(sigs[sig]);
  }]);
  for (const [sig, h] of handlers) process.on(sig, h);
  return {
    to(pid) {
      target = pid;
      for (const s of pending.splice(0)) signalProcess(pid, s);
    },
    stop() {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}

/** Returns the exit code the runtime should exit with (0 for --detach). */
export async function runContainer(opts: RunOptions): Promise<number> {
  const warn = opts.warn ?? (() => {});
  if (opts.detach) {
    await createContainer({ ...opts, mode: 'create' });
    await startContainer(opts.root, opts.id, warn);
    return 0;
  }
  const loaded = opts.loaded ?? loadBundle(opts.bundle);
  let receiver: ConsoleReceiver | undefined;
  let consoleSocket = opts.consoleSocket;
  if (!consoleSocket && loaded.spec.process?.terminal) {
    receiver = await consoleModule().listenForConsole();
    consoleSocket = receiver.socketPath;
  }
  let stopProxy: (() => Promise<void>) | undefined;
  const signals = forwardSignals();
  try {
    const created = await createContainer({ ...opts, loaded, consoleSocket, mode: 'run' });
    const { record, store, init } = created;
    signals.to(record.pid);
    if (receiver) stopProxy = consoleModule().proxyTerminal(await receiver.master);
    // A failing poststart hook is a warning only (spec): the others run, the container goes on.
    runHooksWarnOnly(record.config.hooks, 'poststart', stateJson(record, 'running'), warn);
    let code: number;
    try {
      code = exitCodeOf(await init.exit);
    } catch (err) {
      // A failure after READY (user, capabilities, exec): the container never ran, so it goes too.
      if (!opts.keep) await destroyContainer(store, record, 'stopped', warn);
      throw err;
    }
    trace('run: container exited');
    record.exitStatus = code;
    if (opts.keep) {
      store.save(record);
    } else {
      // The container's process has been reaped by its init: it is stopped, whatever else its cgroup holds.
      await destroyContainer(store, record, 'stopped', warn);
    }
    trace('run: deleted');
    return code;
  } finally {
    signals.stop();
    if (stopProxy) await stopProxy();
    if (receiver) receiver.close();
  }
}

/**
 * The driver reports the container's raw wait status (or an already decoded
 * code); either way the shell convention results: the exit code, or 128+signal.
 */
export function exitCodeOf(result: unknown): number {
  if (typeof result === 'number') return decodeWaitStatus(result);
  const r = result as { status?: number; code?: number | null; signal?: number | string | null; waitStatus?: number };
  if (typeof r?.waitStatus === 'number') return decodeWaitStatus(r.waitStatus);
  if (typeof r?.status === 'number') return decodeWaitStatus(r.status);
  if (typeof r?.code === 'number') return r.code;
  if (typeof r?.signal === 'number') return 128 + r.signal;
  if (typeof r?.signal === 'string') {
    return 128 + ((require('os').constants.signals as Record<string, number>)[r.signal] ?? 0);
  }
  return 255;
}

export function decodeWaitStatus(status: number): number {
  const sig = status & 0x7f;
  if (sig === 0) return (status >> 8) & 0xff;
  return 128 + sig;
}
