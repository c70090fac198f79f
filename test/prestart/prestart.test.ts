/**
 * Prestarted workers (docs/prestart.md) driven through the real client (bin/carton-runtime):
 * the command's results are those of a cold start, carton-init and the container stay
 * descendants of the caller, signals and the caller's death reach them, and callers a worker
 * must not serve (other namespaces, opt-out) still get their command run by Node.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, SpawnSyncOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { leftovers, REPO, Result, RUNTIME_CMD, runtimeFixture, stateOf, waitFor } from '../runtime/helpers';
import { PoolHandle, startPool } from '../../src/prestart/pool-control';

const fx = runtimeFixture();
const poolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-prestart-'));
const quietEnv = { ...process.env, NODE_EXTRA_CA_CERTS: '' };
let pool: PoolHandle;

interface ClientResult extends Result {
  /** The worker that ran the command, when one did (CARTON_PRESTART_DEBUG's line). */
  worker?: number;
}

/** Poll without blocking the event loop (the condition reads output that arrives through it). */
async function eventually(cond: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

function parentOf(pid: number): number {
  return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
}

function workerOf(stderr: string): number | undefined {
  const m = /prestarted worker (\d+)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

/** The client with a full pool, as an engine would call the runtime. */
async function client(args: string[], opts: SpawnSyncOptions & { prefix?: string[] } = {}): Promise<ClientResult> {
  assert.ok(await pool.waitFull(), 'the pool filled up');
  const argv = [...(opts.prefix ?? []), RUNTIME_CMD, '--root', fx.root, ...args];
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    timeout: 30_000,
    ...opts,
    env: { ...quietEnv, ...pool.env, CARTON_PRESTART_DEBUG: '1', ...(opts.env ?? {}) },
  });
  const stderr = String(r.stderr ?? '');
  return { status: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr, worker: workerOf(stderr) };
}

before(async () => {
  pool = startPool(REPO, poolDir, 2, quietEnv);
  assert.ok(await pool.waitFull(), 'prestart pool ready');
});

after(async () => {
  await pool?.stop();
  fx.cleanup();
  fs.rmSync(poolDir, { recursive: true, force: true });
});

describe('commands through a prestarted worker', () => {
  test('run: the container\'s output, exit status and cgroups are those of a cold start', async () => {
    const id = fx.id('run');
    const b = fx.bundleFor(['sh', '-c', 'echo out-$FOO; echo err >&2; grep -E ":pids:|^0::" /proc/self/cgroup; exit 7'], (s) => {
      s.process!.env!.push('FOO=bar');
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'cgroup');
    });
    const r = await client(['run', '-b', b, id]);
    assert.ok(r.worker, `served by a worker: ${r.stderr}`);
    assert.equal(r.status, 7, r.stderr);
    assert.match(r.stdout, /^out-bar\n/);
    // v1 (pids) or pure v2 (0::): the container in a cgroup of its own, named after it.
    assert.match(r.stdout, new RegExp(`(:pids:|^0::)/(.*/)?${id}$`, 'm'));
    assert.match(r.stderr, /^err$/m);
    assert.deepEqual(leftovers(fx.root, id, b), []);
    // The same command cold gives the same answer.
    const cold = await client(['run', '-b', b, id], { env: { CARTON_PRESTART: '0' } });
    assert.equal(cold.worker, undefined);
    assert.equal(cold.status, 7);
    assert.equal(cold.stdout, r.stdout);
  });

  test('errors keep their text and exit status', async () => {
    const r = await client(['state', 'no-such-container']);
    assert.ok(r.worker);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /container does not exist: no-such-container/);
  });

  test('create/start/delete under a subreaper, as conmon calls them: the container is the caller\'s descendant', async () => {
    const id = fx.id('conmon');
    const b = fx.bundleFor(['sh', '-c', 'exit 5']);
    // A subreaper like conmon: create (relative bundle and pid file), reap the container itself.
    const script = `
      const { spawnSync } = require('child_process');
      const fs = require('fs');
      const a = { exports: {} };
      process.dlopen(a, ${JSON.stringify(path.join(REPO, 'build', 'Release', 'carton.node'))});
      a.exports.setChildSubreaper();
      // stderr to a file: the created container keeps the runtime's stdio until it runs.
      const run = (...args) => {
        const errFile = ${JSON.stringify(b)} + '/err-' + args[0];
        const fd = fs.openSync(errFile, 'w');
        const r = spawnSync(${JSON.stringify(RUNTIME_CMD)}, ['--root', ${JSON.stringify(fx.root)}, ...args], { cwd: ${JSON.stringify(b)}, stdio: ['ignore', 'ignore', fd] });
        fs.closeSync(fd);
        return { status: r.status, stderr: fs.readFileSync(errFile, 'utf8') };
      };
      const c = run('create', '-b', '.', '--pid-file', 'c.pid', ${JSON.stringify(id)});
      const pid = Number(fs.readFileSync(${JSON.stringify(path.join(b, 'c.pid'))}, 'utf8'));
      const ppid = Number(fs.readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].split(' ')[1]);
      const s = run('start', ${JSON.stringify(id)});
      let status = null;
      const deadline = Date.now() + 10000;
      while (status === null && Date.now() < deadline) status = a.exports.waitpidNoHang(pid);
      console.log(JSON.stringify({ create: c.status, createErr: c.stderr, start: s.status, startErr: s.stderr, ppid, me: process.pid, exit: status >> 8 }));
    `;
    assert.ok(await pool.waitFull());
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000, env: { ...quietEnv, ...pool.env, CARTON_PRESTART_DEBUG: '1' } });
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out.create, 0, String(out.createErr));
    assert.ok(workerOf(String(out.createErr)), `create served by a worker: ${String(out.createErr)}`);
    assert.equal(out.ppid, out.me, 'the created container was reparented to the subreaper');
    assert.equal(out.start, 0, String(out.startErr));
    assert.equal(out.exit, 5, 'the subreaper reaped the container\'s own exit status');
    assert.equal(stateOf(fx.root, id).status, 'stopped');
    const d = await client(['delete', id]);
    assert.equal(d.status, 0, d.stderr);
    assert.deepEqual(leftovers(fx.root, id, b), []);
  });

  test('the waiting init stays in the caller\'s cgroup, the container goes to its own', async () => {
    const id = fx.id('cg');
    // v1: a pids cgroup for the caller, the container's relative to it (no cgroupsPath, as runc).
    // Pure v2: a cgroup with processes cannot hold the container's (no internal processes).
    const v1 = fs.existsSync('/sys/fs/cgroup/pids/cgroup.procs');
    const callerName = `carton-test-caller-${process.pid}`;
    const callerCg = v1 ? `/sys/fs/cgroup/pids/${callerName}` : `/sys/fs/cgroup/${callerName}`;
    const ctrPath = v1 ? `${callerName}/${id}` : `carton-test-ctr-${process.pid}`;
    const b = fx.bundleFor(['sh', '-c', 'sleep 2'], (s) => {
      if (!v1) s.linux!.cgroupsPath = `/${ctrPath}`;
    });
    fs.mkdirSync(callerCg);
    assert.ok(await pool.waitFull());
    const child = spawn('sh', ['-c', `echo $$ > ${callerCg}/cgroup.procs && exec ${RUNTIME_CMD} --root ${fx.root} run -b ${b} ${id}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...quietEnv, ...pool.env, CARTON_PRESTART_DEBUG: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let containerPid = 0;
      const started = await eventually(() => {
        try {
          return (containerPid = Number(JSON.parse(fs.readFileSync(path.join(fx.root, id, 'state.json'), 'utf8')).pid ?? 0)) > 0;
        } catch {
          return false;
        }
      });
      assert.ok(started, `container started: ${stderr}`);
      const cgroupOf = (pid: number): string =>
        fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => (v1 ? /:pids:/.test(l) : l.startsWith('0::'))) ?? '';
      const initPid = parentOf(containerPid);
      assert.equal(parentOf(initPid), child.pid, 'the init is the client\'s child');
      assert.ok(cgroupOf(containerPid).endsWith(`:/${ctrPath}`), cgroupOf(containerPid));
      assert.ok(cgroupOf(initPid).endsWith(`:/${callerName}`), `the init in the caller's cgroup: ${cgroupOf(initPid)}`);
      assert.equal(await exited, 0, stderr);
      assert.ok(workerOf(stderr), stderr);
    } finally {
      child.kill('SIGKILL');
      await exited;
      await client(['delete', '--force', id]);
      await eventually(() => {
        try {
          fs.rmdirSync(callerCg);
          return true;
        } catch {
          return false;
        }
      });
    }
  });

  test('--preserve-fds passes the caller\'s own fd 3 on to the container', async () => {
    const id = fx.id('pfd');
    const b = fx.bundleFor(['sh', '-c', 'echo through-fd3 >&3']);
    assert.ok(await pool.waitFull());
    const child = spawn(RUNTIME_CMD, ['--root', fx.root, 'run', '--preserve-fds', '1', '-b', b, id], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      env: { ...quietEnv, ...pool.env, CARTON_PRESTART_DEBUG: '1' },
    });
    let stderr = '';
    let fd3 = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (fd3 += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.ok(workerOf(stderr), stderr);
    assert.equal(fd3, 'through-fd3\n');
  });

  test('signals sent to the client reach the container', async () => {
    const id = fx.id('sig');
    const b = fx.bundleFor(['sh', '-c', 'trap "exit 3" TERM; echo ready; while true; do sleep 0.1; done']);
    assert.ok(await pool.waitFull());
    const child = spawn(RUNTIME_CMD, ['--root', fx.root, 'run', '-b', b, id], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...quietEnv, ...pool.env, CARTON_PRESTART_DEBUG: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    child.kill('SIGTERM');
    assert.equal(await exited, 3, stderr);
    assert.ok(workerOf(stderr), stderr);
    assert.deepEqual(leftovers(fx.root, id, b), []);
  });

  test('a client killed with SIGKILL takes its worker with it', async () => {
    const id = fx.id('kill9');
    const b = fx.bundleFor(['sleep', '60']);
    assert.ok(await pool.waitFull());
    const child = spawn(RUNTIME_CMD, ['--root', fx.root, 'run', '-b', b, id], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...quietEnv, ...pool.env, CARTON_PRESTART_DEBUG: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    assert.ok(await eventually(() => fs.existsSync(path.join(fx.root, id, 'state.json')) && workerOf(stderr) !== undefined), stderr);
    const worker = workerOf(stderr)!;
    child.kill('SIGKILL');
    const gone = (): boolean => {
      try {
        return fs.readFileSync(`/proc/${worker}/stat`, 'utf8').split(') ')[1].startsWith('Z');
      } catch {
        return true;
      }
    };
    assert.ok(await eventually(gone), 'worker gone');
    const d = await client(['delete', '--force', id]);
    assert.equal(d.status, 0, d.stderr);
    assert.deepEqual(leftovers(fx.root, id, b), []);
  });
});

describe('callers a worker must not serve', () => {
  test('another mount namespace: refused, and Node runs the command', async () => {
    const r = await client(['state', 'no-such-container'], { prefix: ['unshare', '-m'] });
    assert.match(r.stderr, /refused: caller is in another mnt namespace/);
    assert.equal(r.worker, undefined);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /container does not exist/);
  });

  test('a client of another build: refused, and its own Node runs the command', async () => {
    // A second install of Carton: same pool directory, its own bundle (another identity).
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-otherbuild-'));
    try {
      for (const dir of ['bin', 'dist/bundle', 'build/Release']) fs.mkdirSync(path.join(other, dir), { recursive: true });
      for (const f of ['bin/carton-runtime.js', 'bin/bundle-loader.js', 'dist/bundle/carton-runtime.js', 'build/Release/carton-runtime-cli', 'build/Release/carton.node', 'build/Release/carton-init']) {
        fs.copyFileSync(path.join(REPO, f), path.join(other, f));
      }
      fs.chmodSync(path.join(other, 'build/Release/carton-runtime-cli'), 0o755);
      fs.chmodSync(path.join(other, 'build/Release/carton-init'), 0o755);
      assert.ok(await pool.waitFull());
      const r = spawnSync(path.join(other, 'build/Release/carton-runtime-cli'), ['--root', fx.root, 'state', 'no-such-container'], {
        encoding: 'utf8',
        env: { ...quietEnv, ...pool.env, CARTON_PRESTART_DEBUG: '1' },
      });
      assert.match(r.stderr, /refused: the client belongs to another build of Carton/);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /container does not exist/);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  test('Node start-up settings other than the worker\'s: refused, and Node starts with the caller\'s', async () => {
    const r = await client(['--version'], { env: { NODE_OPTIONS: '--max-old-space-size=100' } });
    assert.match(r.stderr, /refused: the caller's NODE_OPTIONS differs from this worker's start/);
    assert.equal(r.worker, undefined);
    assert.equal(r.status, 0);
  });

  test('CARTON_PRESTART=0 opts out', async () => {
    const r = await client(['--version'], { env: { CARTON_PRESTART: '0' } });
    assert.equal(r.worker, undefined);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^carton-runtime version /);
  });
});

describe('the pool itself', () => {
  test('a second pool on the same directory is refused; a stopped pool leaves no socket and no worker', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-prestart2-'));
    try {
      const p = startPool(REPO, dir, 1, quietEnv);
      assert.ok(await p.waitFull());
      const second = spawnSync(process.execPath, [path.join(REPO, 'bin', 'carton-runtime.js'), 'prestart', '--dir', dir], { encoding: 'utf8', env: quietEnv, timeout: 10_000 });
      assert.equal(second.status, 1);
      assert.match(second.stderr, /a prestart pool already serves/);
      const workers = childrenOf(p.process.pid!);
      assert.equal(workers.length, 2, 'one worker each for carton-runtime and carton');
      await p.stop();
      assert.deepEqual(fs.readdirSync(dir), []);
      assert.ok(waitFor(() => workers.every((w) => !fs.existsSync(`/proc/${w}`))), 'idle workers stopped');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a pool killed with SIGKILL: its idle workers end, callers fall back to Node, a new pool takes the directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-prestart3-'));
    try {
      const p = startPool(REPO, dir, 1, quietEnv);
      assert.ok(await p.waitFull());
      const workers = childrenOf(p.process.pid!);
      p.process.kill('SIGKILL');
      await p.stop();
      const gone = (pid: number): boolean => {
        try {
          return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
        } catch {
          return true;
        }
      };
      assert.ok(await eventually(() => workers.every(gone)), 'idle workers ended with their pool');
      // Their sockets are still there, refusing connections: the client tries them, then runs Node.
      assert.ok(fs.readdirSync(dir).some((n) => n.startsWith('carton-runtime.w')));
      const r = spawnSync(RUNTIME_CMD, ['--root', fx.root, 'state', 'no-such-container'], {
        encoding: 'utf8',
        env: { ...quietEnv, CARTON_PRESTART_DIR: dir, CARTON_PRESTART_DEBUG: '1' },
      });
      assert.equal(workerOf(r.stderr), undefined);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /container does not exist/);
      const again = startPool(REPO, dir, 1, quietEnv);
      assert.ok(await again.waitFull(), 'a new pool starts on the old directory');
      await again.stop();
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a pool directory others could write is refused, and nothing is started', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-prestart-open-'));
    fs.chmodSync(dir, 0o777);
    try {
      const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'carton-runtime.js'), 'prestart', '--dir', dir], { encoding: 'utf8', env: quietEnv, timeout: 10_000 });
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`--dir ${dir}: must be a directory of this user that nobody else can write`));
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad flags are named', () => {
    const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'carton-runtime.js'), 'prestart', '--workers', 'lots'], { encoding: 'utf8', env: quietEnv });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--workers: "lots" is not a number from 1 to 64/);
  });
});

function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return Number(fs.readFileSync(`/proc/${n}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}
