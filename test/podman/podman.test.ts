/**
 * Real Podman (through conmon) driving carton-runtime, every case also run with
 * runc and the outputs compared. Podman gets private --root/--runroot and network
 * config under a temp dir, a containers.conf that lists carton-runtime in
 * runtime_supports_json (so errors come back through --log) and ulimits this root
 * can grant, and a local image imported from a busybox rootfs tarball (no network).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBusyboxRootfs } from '../helpers/busybox';
import { RUNTIME_CMD } from '../runtime/helpers';
import { defaultDirPool } from '../prestart/default-pool';
import { runInPty } from '../helpers/pty';

const IMAGE = 'localhost/carton-test-busybox:latest';
const RUNTIMES = { runc: 'runc', carton: RUNTIME_CMD } as const;
type RuntimeName = keyof typeof RUNTIMES;

let tmp = '';
let bridgeExisted = false;
const hasPodman = spawnSync('podman', ['--version']).status === 0 && spawnSync('script', ['--version']).status === 0;

function podmanArgs(runtime: RuntimeName): string[] {
  return [
    '--root', path.join(tmp, 'root'),
    '--runroot', path.join(tmp, 'runroot'),
    '--network-config-dir', path.join(tmp, 'networks'),
    '--cgroup-manager', 'cgroupfs',
    '--events-backend', 'file',
    '--runtime', RUNTIMES[runtime],
  ];
}

function env(): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: path.join(tmp, 'containers.conf'), NODE_EXTRA_CA_CERTS: '' };
}

interface Out {
  status: number | null;
  stdout: string;
  stderr: string;
}

function podman(runtime: RuntimeName, args: string[], input?: string): Out {
  const r = spawnSync('podman', [...podmanArgs(runtime), ...args], { encoding: 'utf8', input, env: env(), timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * Run podman inside a real pty (test/helpers/pty.ts: script with a stdin pipe kept open
 * until podman ends, so it also works when the test runner has no stdin at all).
 */
async function podmanTty(runtime: RuntimeName, args: string[]): Promise<Out> {
  const cmd = ['podman', ...podmanArgs(runtime), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = await runInPty(cmd, { env: env(), timeoutMs: 60_000 });
  return {
    status: r.status,
    stdout: r.output.replace(/\r/g, '').replace(/\^@|\0/g, ''),
    stderr: r.timedOut ? 'timed out after 60 s' : '',
  };
}

before(() => {
  if (!hasPodman) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-podman-'));
  fs.writeFileSync(
    path.join(tmp, 'containers.conf'),
    [
      '[containers]',
      'default_ulimits = ["nofile=20000:20000","nproc=32768:32768"]',
      '[engine]',
      'runtime_supports_json = ["carton-runtime"]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  const rootfs = makeBusyboxRootfs(path.join(tmp, 'rootfs'));
  execFileSync('tar', ['-C', rootfs, '-cf', path.join(tmp, 'rootfs.tar'), '.']);
  bridgeExisted = spawnSync('ip', ['link', 'show', 'podman0']).status === 0;
  const r = podman('runc', ['import', path.join(tmp, 'rootfs.tar'), IMAGE]);
  assert.equal(r.status, 0, r.stderr);
});

after(() => {
  if (!tmp) return;
  for (const rt of Object.keys(RUNTIMES) as RuntimeName[]) podman(rt, ['rm', '-af', '-t', '0']);
  podman('runc', ['system', 'reset', '-f']);
  // Overlay mounts of this storage, should any survive the reset.
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
    const mp = line.split(' ')[4];
    if (mp && mp.startsWith(tmp)) spawnSync('umount', ['-l', mp]);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  if (!bridgeExisted) spawnSync('ip', ['link', 'del', 'podman0']);
});

/** The same case with runc and carton-runtime: results must match. */
function both(name: string, body: (rt: RuntimeName) => unknown): void {
  test(name, { skip: !hasPodman && 'podman or script not installed' }, async () => {
    const ref = await body('runc');
    const got = await body('carton');
    assert.deepEqual(got, ref);
  });
}

describe('podman with carton-runtime gives what runc gives', () => {
  both('run --rm', (rt) => {
    const r = podman(rt, ['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'echo hello; id; hostname | wc -c; exit 3']);
    return [r.status, r.stdout];
  });

  both('run -i with piped stdin', (rt) => {
    const r = podman(rt, ['run', '-i', '--rm', '--network', 'none', IMAGE, 'tr', 'a-z', 'A-Z'], 'piped input\n');
    assert.equal(r.stdout, 'PIPED INPUT\n', r.stderr);
    return [r.status, r.stdout];
  });

  both('run -it in a real pty', async (rt) => {
    const r = await podmanTty(rt, ['run', '-it', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'tty; test -t 0 && echo stdin-is-tty']);
    assert.match(r.stdout, /\/dev\/pts\/0\nstdin-is-tty/, `${rt}: stdout ${JSON.stringify(r.stdout)} stderr ${r.stderr}`);
    return [r.status, r.stdout.trim()];
  });

  both('run -d, exec, exec -it, logs, pause, unpause, top, stop, start, kill, rm -f', async (rt) => {
    const name = `carton-test-life-${rt}`;
    const out: unknown[] = [];
    const d = podman(rt, ['run', '-d', '--network', 'none', '--name', name, IMAGE, 'sh', '-c', 'echo started; exec sleep 100']);
    assert.equal(d.status, 0, d.stderr);
    const ex = podman(rt, ['exec', name, 'sh', '-c', 'echo in-exec; cat /proc/1/cmdline | tr "\\0" " "; exit 4']);
    out.push(ex.status, ex.stdout);
    const it = await podmanTty(rt, ['exec', '-it', name, 'sh', '-c', 'tty']);
    out.push(it.status, /\/dev\/pts\/\d+/.test(it.stdout));
    out.push(podman(rt, ['logs', name]).stdout);
    out.push(podman(rt, ['pause', name]).status, podman(rt, ['inspect', '-f', '{{.State.Status}}', name]).stdout);
    out.push(podman(rt, ['unpause', name]).status, podman(rt, ['inspect', '-f', '{{.State.Status}}', name]).stdout);
    const top = podman(rt, ['top', name, 'pid', 'args']);
    out.push(top.status, top.stdout.replace(/ +/g, ' '));
    const stop = podman(rt, ['stop', '-t', '1', name]);
    out.push(stop.status);
    out.push(podman(rt, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name]).stdout);
    const start = podman(rt, ['start', name]);
    out.push(start.status);
    out.push(podman(rt, ['exec', name, 'echo', 'after-restart']).stdout);
    out.push(podman(rt, ['kill', name]).status);
    out.push(podman(rt, ['wait', name]).stdout);
    out.push(podman(rt, ['rm', '-f', name]).status);
    return out;
  });

  both('rm -f of a running container', (rt) => {
    const name = `carton-test-rmf-${rt}`;
    assert.equal(podman(rt, ['run', '-d', '--network', 'none', '--name', name, IMAGE, 'sleep', '100']).status, 0);
    const r = podman(rt, ['rm', '-f', '-t', '0', name]);
    return [r.status, podman(rt, ['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}}']).stdout];
  });

  both('--memory, --pids-limit, --cpus reach the cgroup files', (rt) => {
    const r = podman(rt, [
      'run', '--rm', '--network', 'none', '--memory', '64m', '--pids-limit', '77', '--cpus', '0.5', IMAGE, 'sh', '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us',
    ]);
    assert.equal(r.stdout, '67108864\n77\n50000\n100000\n', r.stderr);
    return [r.status, r.stdout];
  });

  both('--network none', (rt) => {
    const r = podman(rt, ['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'ls /sys/class/net']);
    return [r.status, r.stdout];
  });

  both("Podman's default network (netns joined by path)", (rt) => {
    const r = podman(rt, ['run', '--rm', IMAGE, 'sh', '-c', "ip -o -4 addr show eth0 | awk '{print $4}' | cut -d. -f1,2; ip route | grep -c default"]);
    assert.equal(r.status, 0, r.stderr);
    return [r.status, r.stdout];
  });

  both('a missing command: exit 127 and the reason from --log', (rt) => {
    const r = podman(rt, ['run', '--rm', '--network', 'none', IMAGE, '/nonexistent']);
    assert.match(r.stderr, /stat \/nonexistent: no such file or directory/);
    return [r.status];
  });
});

describe('podman with carton-runtime through prestarted workers (docs/prestart.md)', () => {
  // conmon gives the runtime no NODE_OPTIONS (scripts/test.sh sets one) nor extra CA certs:
  // the workers must start as the runtime's own Node would.
  const { NODE_OPTIONS: _options, NODE_EXTRA_CA_CERTS: _certs, ...env } = process.env;
  const workers = defaultDirPool(hasPodman, env);

  const name = 'run --rm, and run -d + exec + stop + rm: every runtime call of carton served by a worker';
  test(name, { skip: (!hasPodman && 'podman or script not installed') || workers.skip }, async () => {
    const pool = workers.pool();
    const results: unknown[] = [];
    for (const rt of ['runc', 'carton'] as RuntimeName[]) {
      await pool.waitFull();
      const served = pool.served('carton-runtime');
      const ctr = 'pst-both';
      const out = [podman(rt, ['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'echo hello; exit 3'])];
      await pool.waitFull();
      out.push(podman(rt, ['run', '-d', '--network', 'none', '--name', ctr, IMAGE, 'sleep', '60']));
      await pool.waitFull();
      out.push(podman(rt, ['exec', ctr, 'sh', '-c', 'echo in; exit 2']));
      await pool.waitFull();
      out.push(podman(rt, ['stop', '-t', '1', ctr]), podman(rt, ['rm', ctr]));
      const ran = pool.served('carton-runtime') - served;
      if (rt === 'carton') assert.ok(ran >= 5, `workers ran ${ran} runtime calls (create, start, exec, kill, delete at least)`);
      results.push(out.map((o) => [o.status, /^[0-9a-f]{64}\n$/.test(o.stdout) ? 'ID' : o.stdout]));
    }
    assert.deepEqual(results[1], results[0]);
  });
});
