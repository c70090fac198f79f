/**
 * The create/start split, state transitions, run's exit codes and signal
 * forwarding, kill and delete in every state, and pid reuse — on real busybox
 * containers driven through bin/carton-runtime.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, minimalSpec, removeBundle } from '../helpers/busybox';
import { forceCleanup, leftovers, makeRoot, newId, runtimeDetached, runtimeSpawn, runtimeSync, stateOf, waitFor } from './helpers';

const root = makeRoot();
const bundles: string[] = [];
const ids: string[] = [];

function bundleFor(args: string[]): string {
  const b = makeBundle(minimalSpec(args));
  bundles.push(b);
  return b;
}

function track(id: string): string {
  ids.push(id);
  return id;
}

after(() => {
  for (const id of ids) forceCleanup(root, id);
  for (const b of bundles) removeBundle(b);
  fs.rmSync(root, { recursive: true, force: true });
});

describe('run', () => {
  test('prints hello and exits 0; nothing is left', () => {
    const b = bundleFor(['echo', 'hello']);
    const id = track(newId('hello'));
    const r = runtimeSync(root, ['run', '--bundle', b, id]);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.status, 0);
    assert.deepEqual(leftovers(root, id, b), []);
  });

  test('exits with the container exit code', () => {
    const b = bundleFor(['sh', '-c', 'exit 42']);
    const id = track(newId('code'));
    const r = runtimeSync(root, ['run', '-b', b, id]);
    assert.equal(r.status, 42, r.stderr);
  });

  test('a container killed by a signal gives 128+signal', async () => {
    const b = bundleFor(['sh', '-c', 'echo ready; sleep 30']);
    const id = track(newId('sig'));
    const child = runtimeSpawn(root, ['run', '-b', b, id]);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await until(() => out.includes('ready'));
    // pid 1 of a pid namespace ignores signals from inside; from the host SIGKILL works.
    process.kill(Number(stateOf(root, id).pid), 'SIGKILL');
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    assert.equal(code, 137);
    assert.deepEqual(leftovers(root, id, b), []);
  });

  test('SIGTERM to the runtime reaches the container', async () => {
    const b = bundleFor(['sh', '-c', 'trap "echo got-term; exit 3" TERM; echo ready; while true; do sleep 0.1; done']);
    const id = track(newId('fwd'));
    const child = runtimeSpawn(root, ['run', '-b', b, id]);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await until(() => out.includes('ready'));
    // Only the container's processes are in its cgroup, not the init that waits for it
    // (which stays in the host's pid namespace).
    const pids = JSON.parse(runtimeSync(root, ['ps', '--format', 'json', id]).stdout) as number[];
    const containerNs = fs.readlinkSync(`/proc/${stateOf(root, id).pid}/ns/pid`);
    assert.ok(pids.length > 0);
    for (const pid of pids) {
      let ns: string;
      try {
        ns = fs.readlinkSync(`/proc/${pid}/ns/pid`);
      } catch {
        continue; // a short-lived `sleep 0.1` of the loop
      }
      assert.equal(ns, containerNs, `pid ${pid}`);
    }
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    assert.equal(code, 3);
    assert.match(out, /got-term/);
    assert.deepEqual(leftovers(root, id, b), []);
  });

  test('--keep keeps a stopped container until delete', () => {
    const b = bundleFor(['true']);
    const id = track(newId('keep'));
    const r = runtimeSync(root, ['run', '--keep', '-b', b, id]);
    assert.equal(r.status, 0, r.stderr);
    const st = stateOf(root, id);
    assert.equal(st.status, 'stopped');
    assert.equal(st.pid, 0);
    assert.equal(runtimeSync(root, ['delete', id]).status, 0);
    assert.deepEqual(leftovers(root, id, b), []);
  });

  test('--detach returns at once with the container running', () => {
    const b = bundleFor(['sleep', '30']);
    const id = track(newId('detach'));
    const pidFile = path.join(b, 'pid');
    const r = runtimeDetached(root, ['run', '-d', '--pid-file', pidFile, '-b', b, id]);
    assert.equal(r.status, 0, r.stderr);
    const st = stateOf(root, id);
    assert.equal(st.status, 'running');
    assert.equal(Number(fs.readFileSync(pidFile, 'utf8')), st.pid);
    assert.equal(runtimeSync(root, ['delete', '--force', id]).status, 0);
    assert.deepEqual(leftovers(root, id, b), []);
  });
});

describe('create and start', () => {
  test('created → running → stopped, with state fields', () => {
    const b = bundleFor(['sh', '-c', 'echo started > /tmp/mark; sleep 30']);
    const id = track(newId('split'));
    const pidFile = path.join(b, 'container.pid');
    const c = runtimeDetached(root, ['create', '--bundle', b, '--pid-file', pidFile, id]);
    assert.equal(c.status, 0, c.stderr);
    let st = stateOf(root, id);
    assert.equal(st.status, 'created');
    assert.equal(st.ociVersion, '1.2.0');
    assert.equal(st.id, id);
    assert.equal(st.bundle, b);
    assert.equal(st.rootfs, path.join(b, 'rootfs'));
    assert.match(String(st.created), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(st.owner, '');
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    assert.equal(st.pid, pid);
    // Still waiting: the user's command has not run yet.
    assert.equal(fs.existsSync(path.join(b, 'rootfs', 'tmp', 'mark')), false);

    const s = runtimeSync(root, ['start', id]);
    assert.equal(s.status, 0, s.stderr);
    assert.ok(waitFor(() => fs.existsSync(path.join(b, 'rootfs', 'tmp', 'mark'))));
    st = stateOf(root, id);
    assert.equal(st.status, 'running');

    const again = runtimeSync(root, ['start', id]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already running/);

    assert.equal(runtimeSync(root, ['kill', id, 'KILL']).status, 0);
    assert.ok(waitFor(() => stateOf(root, id).status === 'stopped'));
    assert.equal(stateOf(root, id).pid, 0);
    const k = runtimeSync(root, ['kill', id]);
    assert.equal(k.status, 1);
    assert.match(k.stderr, /container not running/);
    assert.equal(runtimeSync(root, ['delete', id]).status, 0);
    assert.deepEqual(leftovers(root, id, b), []);
  });

  test('list and ps show the container', () => {
    const b = bundleFor(['sleep', '30']);
    const id = track(newId('list'));
    assert.equal(runtimeDetached(root, ['run', '-d', '-b', b, id]).status, 0);
    const st = stateOf(root, id);
    const table = runtimeSync(root, ['list']).stdout;
    assert.match(table.split('\n')[0], /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    assert.match(table, new RegExp(`${id}\\s+${st.pid}\\s+running\\s+${b}`));
    const json = JSON.parse(runtimeSync(root, ['list', '--format', 'json']).stdout) as { id: string; status: string }[];
    assert.equal(json.find((c) => c.id === id)?.status, 'running');
    assert.match(runtimeSync(root, ['list', '-q']).stdout, new RegExp(`^${id}$`, 'm'));
    const pids = JSON.parse(runtimeSync(root, ['ps', '--format', 'json', id]).stdout) as number[];
    assert.deepEqual(pids, [st.pid]);
    const ps = runtimeSync(root, ['ps', id]).stdout.split('\n');
    assert.match(ps[0], /PID/);
    assert.ok(ps.some((l) => l.includes('sleep 30')), ps.join('\n'));
    assert.equal(runtimeSync(root, ['delete', '-f', id]).status, 0);
  });
});

describe('kill and delete in every state', () => {
  test('created: kill, then delete', () => {
    const b = bundleFor(['true']);
    const id = track(newId('kcreated'));
    assert.equal(runtimeDetached(root, ['create', '-b', b, id]).status, 0);
    assert.equal(runtimeSync(root, ['kill', id, '9']).status, 0);
    assert.ok(waitFor(() => stateOf(root, id).status === 'stopped'));
    assert.equal(runtimeSync(root, ['delete', id]).status, 0);
    assert.deepEqual(leftovers(root, id, b), []);
  });

  test('created: delete kills it', () => {
    const b = bundleFor(['true']);
    const id = track(newId('dcreated'));
    assert.equal(runtimeDetached(root, ['create', '-b', b, id]).status, 0);
    const d = runtimeSync(root, ['delete', id]);
    assert.equal(d.status, 0, d.stderr);
    assert.deepEqual(leftovers(root, id, b), []);
  });

  test('running: delete refuses without --force', () => {
    const b = bundleFor(['sleep', '30']);
    const id = track(newId('drunning'));
    assert.equal(runtimeDetached(root, ['run', '-d', '-b', b, id]).status, 0);
    const d = runtimeSync(root, ['delete', id]);
    assert.equal(d.status, 1);
    assert.match(d.stderr, /not stopped: running/);
    assert.equal(runtimeSync(root, ['delete', '--force', id]).status, 0);
    assert.deepEqual(leftovers(root, id, b), []);
  });

  test('killed from outside: stopped, delete works', () => {
    const b = bundleFor(['sleep', '30']);
    const id = track(newId('outside'));
    assert.equal(runtimeDetached(root, ['run', '-d', '-b', b, id]).status, 0);
    const pid = Number(stateOf(root, id).pid);
    process.kill(pid, 'SIGKILL');
    assert.ok(waitFor(() => stateOf(root, id).status === 'stopped'));
    assert.match(runtimeSync(root, ['kill', id, 'TERM']).stderr, /container not running/);
    assert.equal(runtimeSync(root, ['delete', id]).status, 0);
    assert.deepEqual(leftovers(root, id, b), []);
  });

  test('kill --all signals every process', () => {
    const b = bundleFor(['sh', '-c', 'sleep 30 & sleep 30 & wait']);
    const id = track(newId('all'));
    assert.equal(runtimeDetached(root, ['run', '-d', '-b', b, id]).status, 0);
    assert.ok(waitFor(() => (JSON.parse(runtimeSync(root, ['ps', '-f', 'json', id]).stdout) as number[]).length === 3));
    assert.equal(runtimeSync(root, ['kill', '--all', id, 'SIGKILL']).status, 0);
    assert.ok(waitFor(() => (JSON.parse(runtimeSync(root, ['ps', '-f', 'json', id]).stdout) as number[]).length === 0));
    assert.equal(runtimeSync(root, ['delete', id]).status, 0);
  });

  test('a runtime killed in the middle of create: delete --force removes what it made', () => {
    const spec = minimalSpec(['true']);
    // The hook's parent is the runtime: kill it while the init waits at the hook's SYNC.
    spec.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'kill -9 $PPID'] }] };
    const b = makeBundle(spec);
    bundles.push(b);
    const id = track(newId('midway'));
    const r = runtimeDetached(root, ['create', '-b', b, id]);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(stateOf(root, id).status, 'creating');
    assert.equal(stateOf(root, id).pid, 0);
    // pid 0 must never become kill(0): that would signal the caller's process group (us).
    let signalled = false;
    const onUsr2 = (): void => {
      signalled = true;
    };
    process.on('SIGUSR2', onUsr2);
    try {
      assert.match(runtimeSync(root, ['kill', id, 'USR2']).stderr, /container not running/);
    } finally {
      process.off('SIGUSR2', onUsr2);
    }
    assert.equal(signalled, false);
    assert.notDeepEqual(leftovers(root, id, b), []);
    assert.equal(runtimeSync(root, ['delete', '--force', id]).status, 0);
    assert.ok(waitFor(() => leftovers(root, id, b).length === 0), leftovers(root, id, b).join('\n'));
  });

  test('delete --force of an unknown id exits 0; without --force it fails', () => {
    assert.equal(runtimeSync(root, ['delete', '--force', 'carton-test-nonexistent']).status, 0);
    const d = runtimeSync(root, ['delete', 'carton-test-nonexistent']);
    assert.equal(d.status, 1);
    assert.match(d.stderr, /container does not exist/);
  });

  test('a reused pid (same pid, other start time) shows the container as stopped', async () => {
    const b = bundleFor(['true']);
    const id = track(newId('reuse'));
    assert.equal(runtimeSync(root, ['run', '--keep', '-b', b, id]).status, 0);
    // Point the record at a live process (this test) with a start time that is not its own.
    const file = path.join(root, id, 'state.json');
    const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
    rec.pid = process.pid;
    rec.pidStartTime = 1;
    fs.writeFileSync(file, JSON.stringify(rec));
    const st = stateOf(root, id);
    assert.equal(st.status, 'stopped');
    assert.equal(st.pid, 0);
    let signalled = false;
    const onUsr2 = (): void => {
      signalled = true;
    };
    process.on('SIGUSR2', onUsr2);
    try {
      assert.match(runtimeSync(root, ['kill', id, 'USR2']).stderr, /container not running/);
      assert.equal(runtimeSync(root, ['delete', '--force', id]).status, 0);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      process.off('SIGUSR2', onUsr2);
    }
    // The process that got the recycled pid was never signalled.
    assert.equal(signalled, false);
  });
});

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
