/**
 * createContainer and startContainer hooks: run "in the container namespace" by
 * carton-init (src/plan/hook-plan.ts), which joins the namespaces the container has of
 * its own, forks the hook into its pid namespace and waits for it. The timeout is kept
 * here: at the deadline the hook's process group is killed and the init, its parent,
 * reaps it at once, so a dying pid namespace never waits on a reaper outside it.
 * Failures read like the other hooks': hooks.startContainer[0] (/bin/x): exit status 4: …
 */
import * as fs from 'fs';
import { CartonError } from '../common/errors';
import type { Hook, Hooks } from '../oci/spec';
import { buildHookPlan } from '../plan/hook-plan';
import { JOIN_ORDER, NAMESPACE_PROC_NAME } from '../plan/namespaces';
import { checkHook } from './hooks';
import { InitHandle, startInit } from './deps';

/** How long a hook's output may trail its exit (a child it left behind can hold the pipes). */
const OUTPUT_GRACE_MS = 200;

export async function runHooksInContainer(
  hooks: Hooks | undefined,
  kind: 'createContainer' | 'startContainer',
  state: object,
  containerPid: number,
): Promise<void> {
  const list = hooks?.[kind] ?? [];
  if (list.length === 0) return;
  const input = JSON.stringify(state);
  const joins = namespacesToJoin(containerPid);
  for (const [i, hook] of list.entries()) await runHook(hook, `hooks.${kind}[${i}]`, input, containerPid, joins);
}

/**
 * The namespace types in which the container differs from this process. A shared one is
 * left alone: re-entering the host's own (a rootless container keeps the host network)
 * needs rights a rootless runtime lacks. One that cannot be read (a non-dumpable init, as
 * root) is joined: the kernel will say whether that may be done.
 */
function namespacesToJoin(pid: number): string[] {
  return JOIN_ORDER.filter((type) => {
    const name = NAMESPACE_PROC_NAME[type];
    try {
      return fs.readlinkSync(`/proc/self/ns/${name}`) !== fs.readlinkSync(`/proc/${pid}/ns/${name}`);
    } catch {
      return type !== 'user' && type !== 'time';
    }
  });
}

async function runHook(hook: Hook, field: string, input: string, containerPid: number, joins: string[]): Promise<void> {
  const where = checkHook(hook, field);
  const init = await startInit({ ops: buildHookPlan(hook, where, containerPid, joins), stdio: ['pipe', 'pipe', 'pipe'] });
  const output = collect(init);
  init.stdin?.on('error', () => undefined); // a hook that does not read the state is not a failure
  init.stdin?.end(input);
  let timedOut = false;
  const timer = hook.timeout === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    void killHook(init);
  }, hook.timeout * 1000);
  let status;
  try {
    status = await init.exit;
  } catch (err) {
    throw hookStartError(err, where);
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (timedOut) throw new CartonError('EHOOK', `${where}: timed out after ${hook.timeout}s and was killed`);
  const said = await output;
  const suffix = said ? `: ${said}` : '';
  if (status.signal) throw new CartonError('EHOOK', `${where}: killed by ${status.signal}${suffix}`);
  if (status.code !== 0) throw new CartonError('EHOOK', `${where}: exit status ${status.code}${suffix}`);
}

/** The hook's process group (it is a session leader), then the hook itself if the group is gone. */
async function killHook(init: InitHandle): Promise<void> {
  let pid: number;
  try {
    pid = await Promise.race([init.containerPid, new Promise<number>((resolve) => setTimeout(() => resolve(0), 100))]);
  } catch {
    return;
  }
  if (pid <= 0) return init.kill('SIGKILL'); // still joining: the init itself
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

/** stdout then stderr, trimmed, once both ended (or shortly after the hook's exit). */
function collect(init: InitHandle): Promise<string> {
  const parts = [init.stdout, init.stderr].map((stream) => new Promise<string>((resolve) => {
    if (!stream) return resolve('');
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    const done = (): void => resolve(Buffer.concat(chunks).toString().trim());
    stream.on('end', done);
    stream.on('error', done);
    init.exit.then(() => setTimeout(done, OUTPUT_GRACE_MS).unref(), () => done());
  }));
  return Promise.all(parts).then((texts) => texts.filter(Boolean).join('; '));
}

/** The init could not join or exec: the same words as a hook run on the host. */
function hookStartError(err: unknown, where: string): unknown {
  if (!(err instanceof CartonError)) return err;
  if (err.code === 'EEXEC_NOTFOUND') return new CartonError('EHOOK', `${where}: no such file or directory`, { cause: err });
  if (err.code === 'EEXEC_PERM') return new CartonError('EHOOK', `${where}: ${err.message.replace(/^exec: "[^"]*": /, '')}`, { cause: err });
  return err.message.startsWith(where) ? err : new CartonError('EHOOK', `${where}: ${err.message}`, { cause: err });
}
