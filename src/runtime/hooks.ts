/**
 * OCI hooks: each hook is run with the container's state JSON on stdin, its own
 * args (args[0] is argv[0]) and env, and killed with SIGKILL after `timeout`
 * seconds. Failures become errors naming the hook (hooks.prestart[0] (/bin/x)).
 */
import * as fs from 'fs';
import { CartonError } from '../common/errors';
import type { Hook, Hooks } from '../oci/spec';

export type HookKind = keyof Hooks;

export interface HookRunOptions {
  /** Run inside this process's namespaces (mount, pid, net, uts, ipc, cgroup): createContainer, startContainer. */
  enterMountNsOf?: number;
}

/** Run every hook of `kind` in order; throws on the first that fails. */
export function runHooks(hooks: Hooks | undefined, kind: HookKind, state: object, opts: HookRunOptions = {}): void {
  const list = hooks?.[kind] ?? [];
  const input = JSON.stringify(state);
  list.forEach((hook, i) => runHook(hook, `hooks.${kind}[${i}]`, input, opts));
}

/** Run every hook of `kind`, a failure being a warning only (poststart, poststop: the spec says the rest go on). */
export function runHooksWarnOnly(hooks: Hooks | undefined, kind: HookKind, state: object, warn: (msg: string) => void): void {
  const list = hooks?.[kind] ?? [];
  const input = JSON.stringify(state);
  list.forEach((hook, i) => {
    try {
      runHook(hook, `hooks.${kind}[${i}]`, input, {});
    } catch (err) {
      warn((err as Error).message);
    }
  });
}

function runHook(hook: Hook, field: string, input: string, opts: HookRunOptions): void {
  const where = `${field} (${hook.path})`;
  if (!hook.path || !hook.path.startsWith('/')) {
    throw new CartonError('EINVAL_CONFIG', `${where}: path must be absolute`);
  }
  if (hook.timeout !== undefined && !(hook.timeout > 0)) {
    throw new CartonError('EINVAL_CONFIG', `${where}: timeout must be a positive number of seconds`);
  }
  const args = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  let file = hook.path;
  let argv = args.slice(1);
  let argv0: string | undefined = args[0];
  let env = envObject(hook.env ?? []);
  let supervised = false;
  if (opts.enterMountNsOf) {
    // "In the container namespace": its mounts (the hook path resolves there, as the spec asks),
    // pid, network, uts, ipc and cgroup namespaces. Joining a pid namespace only places the
    // joiner's children in it, so nsenter forks the hook there (its pid and /proc/self are the
    // container's). With a timeout, a supervisor kills the hook but not nsenter, so that
    // nsenter reaps it (ns-hook-timer.ts says why that matters).
    const nsArgs = ['-t', String(opts.enterMountNsOf), ...containerNsArgs(opts.enterMountNsOf), '--', hook.path, ...args.slice(1)];
    if (hook.timeout !== undefined) {
      const timed = (require('./ns-hook-timer') as typeof import('./ns-hook-timer')).timedNsenter(hook.timeout, hook.env ?? [], nsArgs);
      [file, argv, env, argv0, supervised] = [timed.file, timed.args, timed.env, undefined, true];
    } else {
      [file, argv, argv0] = ['nsenter', nsArgs, 'nsenter'];
    }
  }
  // Loaded here, not at the top: child_process costs ~3 ms of start-up and most containers have no hooks.
  const res = (require('child_process') as typeof import('child_process')).spawnSync(file, argv, {
    argv0,
    input,
    env,
    // Supervised: the supervisor keeps the deadline; this one only stops a supervisor gone wrong.
    timeout: hook.timeout ? hook.timeout * 1000 + (supervised ? 10_000 : 0) : undefined,
    killSignal: 'SIGKILL',
    stdio: supervised ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
    maxBuffer: 1 << 20,
    // With a timeout, its own process group, so the kill takes the hook's children too
    // (spawnSync kills only the pid it started).
    detached: hook.timeout !== undefined,
  } as import('child_process').SpawnSyncOptions);
  if (res.error && (res.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' && res.pid) {
    try {
      process.kill(-res.pid, 'SIGKILL');
    } catch {
      /* the whole group is gone already */
    }
  }
  if (supervised && (require('./ns-hook-timer') as typeof import('./ns-hook-timer')).killedAtDeadline(res.output)) {
    throw new CartonError('EHOOK', `${where}: timed out after ${hook.timeout}s and was killed`);
  }
  const output = (): string => {
    const out = [res.stdout?.toString().trim(), res.stderr?.toString().trim()].filter(Boolean).join('; ');
    return out ? `: ${out}` : '';
  };
  // A hook that does not read its stdin (the state) and exits early is fine: EPIPE is not its failure.
  if (res.error && (res.error as NodeJS.ErrnoException).code !== 'EPIPE') {
    const code = (res.error as NodeJS.ErrnoException).code;
    if (code === 'ETIMEDOUT') {
      throw new CartonError('EHOOK', `${where}: timed out after ${hook.timeout}s and was killed`);
    }
    if (code === 'ENOENT') throw new CartonError('EHOOK', `${where}: no such file or directory`);
    if (code === 'EACCES') throw new CartonError('EHOOK', `${where}: permission denied`);
    throw new CartonError('EHOOK', `${where}: ${res.error.message}`, { cause: res.error });
  }
  if (res.signal) {
    throw new CartonError('EHOOK', `${where}: killed by ${res.signal}${output()}`);
  }
  if (supervised && res.status !== null && res.status > 128) {
    // The supervising shell reports a hook that died of signal N as status 128+N.
    const name = Object.entries(require('os').constants.signals as Record<string, number>).find(([, n]) => n === res.status! - 128)?.[0];
    if (name) throw new CartonError('EHOOK', `${where}: killed by ${name}${output()}`);
  }
  if (res.status !== 0) {
    throw new CartonError('EHOOK', `${where}: exit status ${res.status}${output()}`);
  }
}

function envObject(env: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of env) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** nsenter's flag for each namespace a container can have its own of (user first). */
const NSENTER_FLAGS: [string, string][] = [['user', '-U'], ['mnt', '-m'], ['uts', '-u'], ['ipc', '-i'], ['net', '-n'], ['cgroup', '-C'], ['pid', '-p']];

/**
 * The namespaces the container does not share with this process. A shared one is left
 * alone: re-entering the host's own (a rootless container keeps the host network) needs
 * rights over it that a rootless runtime lacks. In a user namespace of its own, a rootless
 * runtime's uid is the container's root already, so its credentials are kept (nsenter's
 * setgroups would meet "deny"); as root, the hook becomes the container's root, as a hook
 * run by the container's init would be.
 */
function containerNsArgs(pid: number): string[] {
  const differs = (ns: string): boolean => {
    try {
      return fs.readlinkSync(`/proc/self/ns/${ns}`) !== fs.readlinkSync(`/proc/${pid}/ns/${ns}`);
    } catch {
      return ns !== 'user'; // unreadable: enter it, as before (nsenter reports what fails)
    }
  };
  const args = NSENTER_FLAGS.filter(([ns]) => differs(ns)).map(([, flag]) => flag);
  if (args.includes('-U') && process.geteuid?.() !== 0) args.push('--preserve-credentials');
  return args;
}
