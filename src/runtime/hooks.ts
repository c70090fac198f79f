/**
 * OCI hooks: each hook is run with the container's state JSON on stdin, its own
 * args (args[0] is argv[0]) and env, and killed with SIGKILL after `timeout`
 * seconds. Failures become errors naming the hook (hooks.prestart[0] (/bin/x)).
 */
import { CartonError } from '../common/errors';
import type { Hook, Hooks } from '../oci/spec';

export type HookKind = keyof Hooks;

/** Run every hook of `kind` in order; throws on the first that fails. */
export function runHooks(hooks: Hooks | undefined, kind: HookKind, state: object): void {
  const list = hooks?.[kind] ?? [];
  const input = JSON.stringify(state);
  list.forEach((hook, i) => runHook(hook, `hooks.${kind}[${i}]`, input));
}

/** Run every hook of `kind`, a failure being a warning only (poststart, poststop: the spec says the rest go on). */
export function runHooksWarnOnly(hooks: Hooks | undefined, kind: HookKind, state: object, warn: (msg: string) => void): void {
  const list = hooks?.[kind] ?? [];
  const input = JSON.stringify(state);
  list.forEach((hook, i) => {
    try {
      runHook(hook, `hooks.${kind}[${i}]`, input);
    } catch (err) {
      warn((err as Error).message);
    }
  });
}

/** The hook's name in errors, hooks.prestart[0] (/bin/x), once its fields make sense. */
export function checkHook(hook: Hook, field: string): string {
  const where = `${field} (${hook.path})`;
  if (!hook.path || !hook.path.startsWith('/')) {
    throw new CartonError('EINVAL_CONFIG', `${where}: path must be absolute`);
  }
  if (hook.timeout !== undefined && !(hook.timeout > 0)) {
    throw new CartonError('EINVAL_CONFIG', `${where}: timeout must be a positive number of seconds`);
  }
  return where;
}

/** A hook on the host, in the runtime's namespaces (prestart, createRuntime, poststart, poststop). */
function runHook(hook: Hook, field: string, input: string): void {
  const where = checkHook(hook, field);
  const args = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  // Loaded here, not at the top: child_process costs ~3 ms of start-up and most containers have no hooks.
  const res = (require('child_process') as typeof import('child_process')).spawnSync(hook.path, args.slice(1), {
    argv0: args[0],
    input,
    env: envObject(hook.env ?? []),
    timeout: hook.timeout ? hook.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
    stdio: ['pipe', 'pipe', 'pipe'],
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
