/**
 * Docker drives carton-runtime: a private dockerd (see harness.ts) runs the
 * same scenarios with `--runtime carton` and with the default runc; each
 * result is asserted on its own and the two runtimes' results must agree.
 * Slower than the other integration files (about a minute): it starts a daemon.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { DockerHarness, IMAGE, cgroupDirsOf, dockerAvailable, mountsUnder, processesMentioning } from './harness';
import { defaultDirPool } from '../prestart/default-pool';

const missing = dockerAvailable();
const RUNTIMES = ['runc', 'carton'] as const;
type RuntimeName = (typeof RUNTIMES)[number];

let h: DockerHarness;
/** What each scenario observed, per runtime, compared at the end. */
const seen: Record<RuntimeName, Record<string, unknown>> = { runc: {}, carton: {} };

before(async () => {
  if (missing) return;
  h = new DockerHarness();
  await h.start();
});
after(async () => {
  if (!h) return;
  await h.stop();
  // the teardown itself is checked: no daemon, shim, mount, cgroup or bridge may survive it
  const left = [
    ...processesMentioning(h.dir).map((p) => `process ${p}`),
    ...mountsUnder(h.dir).map((m) => `mount ${m}`),
    ...cgroupDirsOf(h.cgroupParent).map((c) => `cgroup ${c}`),
    ...(fs.existsSync(`/sys/class/net/${h.bridge}`) ? [`bridge ${h.bridge}`] : []),
    ...(fs.existsSync(h.dir) ? [`dir ${h.dir}`] : []),
  ];
  assert.deepEqual(left, [], 'docker harness leftovers');
});

function ok(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what}: ${r.stderr}${r.stdout}\n${h.log()}`);
  return r.stdout;
}

function inspect(id: string, format: string): string {
  return ok(h.docker(['inspect', '-f', format, id]), `inspect ${format}`).trim();
}

for (const rt of RUNTIMES) {
  describe(`docker --runtime ${rt}`, { skip: missing }, () => {
    test('run --rm echo hi; exit codes pass through', () => {
      const r = h.docker(['run', '--rm', '--runtime', rt, IMAGE, 'echo', 'hi']);
      assert.equal(ok(r, 'run --rm'), 'hi\n');
      const code = h.docker(['run', '--rm', '--runtime', rt, IMAGE, 'sh', '-c', 'exit 3']);
      assert.equal(code.status, 3, code.stderr);
      seen[rt].echo = { out: r.stdout, code: code.status };
    });

    test('run -it gets a terminal', async () => {
      const r = await h.dockerTty(['run', '--rm', '-it', '--runtime', rt, IMAGE, 'sh', '-c', 'tty; echo done']);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /\/dev\/pts\/\d+$/m); // script may echo a ^@ before it
      assert.match(r.stdout, /^done$/m);
      seen[rt].tty = /\/dev\/pts\/\d+/.test(r.stdout);
    });

    test('run -d, exec, exec -it, top, network, limits, pause/unpause, stop, start, kill, rm -f', async () => {
      const id = ok(
        h.docker(['run', '-d', '--runtime', rt, '--memory', '64m', '--pids-limit', '50', IMAGE, 'sleep', '1000']),
        'run -d',
      ).trim();
      try {
        assert.equal(inspect(id, '{{.HostConfig.Runtime}}'), rt);
        assert.equal(inspect(id, '{{.State.Status}}'), 'running');
        // which runtime really holds it: dockerd 20.10 gives every runtime the state root
        // <exec-root>/runtime-runc/<namespace>; carton's state.json and runc's differ in shape
        const stateFile = path.join(h.dir, 'exec', 'runtime-runc', 'carton-test', id, 'state.json');
        const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
        if (rt === 'carton') {
          assert.equal(state.id, id);
          assert.ok('pidStartTime' in state && !('init_process_pid' in state), `carton's state.json: ${Object.keys(state)}`);
        } else {
          assert.ok('init_process_pid' in state, `runc's state.json: ${Object.keys(state)}`);
        }
        assert.equal(ok(h.docker(['exec', id, 'echo', 'exec-ok']), 'exec'), 'exec-ok\n');
        const execCode = h.docker(['exec', id, 'sh', '-c', 'exit 5']);
        assert.equal(execCode.status, 5);
        const execTty = await h.dockerTty(['exec', '-it', id, 'sh', '-c', 'tty; echo exec-it-ok']);
        assert.equal(execTty.status, 0, execTty.stdout);
        assert.match(execTty.stdout, /\/dev\/pts\/\d+$/m);
        assert.match(execTty.stdout, /^exec-it-ok$/m);
        const top = ok(h.docker(['top', id]), 'top');
        assert.match(top, /sleep 1000/);

        // the bridge network comes from the libnetwork-setkey prestart hook
        const addr = ok(h.docker(['exec', id, 'ip', '-4', '-o', 'addr', 'show', 'eth0']), 'ip addr');
        const prefix = h.gateway.replace(/\.1$/, '.');
        assert.match(addr, new RegExp(`inet ${prefix.replace(/\./g, '\\.')}\\d+/24`));
        assert.equal(inspect(id, '{{.NetworkSettings.Gateway}}'), h.gateway);
        const ping = ok(h.docker(['exec', id, 'ping', '-c', '1', '-W', '3', h.gateway]), 'ping gateway');
        assert.match(ping, /1 packets received/);

        // limits as the kernel sees them, inside and on the host
        const limits = ok(
          h.docker(['exec', id, 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/pids/pids.max']),
          'cgroup limits',
        );
        assert.equal(limits, `${64 * 1024 * 1024}\n50\n`);
        const hostMem = path.join('/sys/fs/cgroup/memory', h.cgroupParent, id, 'memory.limit_in_bytes');
        assert.equal(fs.readFileSync(hostMem, 'utf8').trim(), String(64 * 1024 * 1024));

        ok(h.docker(['pause', id]), 'pause');
        assert.equal(inspect(id, '{{.State.Status}}'), 'paused');
        const freezer = path.join('/sys/fs/cgroup/freezer', h.cgroupParent, id, 'freezer.state');
        assert.equal(fs.readFileSync(freezer, 'utf8').trim(), 'FROZEN');
        ok(h.docker(['unpause', id]), 'unpause');
        assert.equal(inspect(id, '{{.State.Status}}'), 'running');
        assert.equal(fs.readFileSync(freezer, 'utf8').trim(), 'THAWED');

        // sleep as pid 1 ignores SIGTERM: stop -t 1 ends in SIGKILL
        ok(h.docker(['stop', '-t', '1', id]), 'stop');
        assert.equal(inspect(id, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
        ok(h.docker(['start', id]), 'start');
        assert.equal(inspect(id, '{{.State.Status}}'), 'running');
        ok(h.docker(['kill', id]), 'kill');
        assert.equal(inspect(id, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
        seen[rt].detached = { addr: addr.includes('inet'), limits, top: /sleep 1000/.test(top), execCode: execCode.status };
      } finally {
        ok(h.docker(['rm', '-f', id]), 'rm -f');
      }
      assert.equal(h.docker(['ps', '-aq', '--filter', `id=${id}`]).stdout.trim(), '');
      assert.ok(!fs.existsSync(path.join('/sys/fs/cgroup/memory', h.cgroupParent, id)), 'cgroup removed');
    });

    test('stop delivers SIGTERM to a container that handles it', () => {
      const id = ok(
        h.docker(['run', '-d', '--runtime', rt, IMAGE, 'sh', '-c', 'trap "exit 7" TERM; while true; do sleep 0.1; done']),
        'run -d trap',
      ).trim();
      try {
        ok(h.docker(['stop', '-t', '10', id]), 'stop');
        assert.equal(inspect(id, '{{.State.ExitCode}}'), '7');
        ok(h.docker(['start', id]), 'restart');
        ok(h.docker(['kill', '-s', 'TERM', id]), 'kill -s TERM');
        const waited = ok(h.docker(['wait', id]), 'wait').trim();
        assert.equal(waited, '7');
        seen[rt].term = waited;
      } finally {
        h.docker(['rm', '-f', id]);
      }
    });

    test('run --rm under a memory limit: the OOM kill is reported', () => {
      const r = h.docker([
        'run', '--rm', '--runtime', rt, '--memory', '32m', '--memory-swap', '32m', IMAGE,
        'sh', '-c', 'x=y; while true; do x="$x$x"; done',
      ]);
      assert.equal(r.status, 137, r.stderr);
      seen[rt].oom = r.status;
    });
  });
}

describe('docker --runtime carton through prestarted workers (docs/prestart.md)', { skip: missing }, () => {
  const workers = defaultDirPool(!missing, { ...process.env, NODE_EXTRA_CA_CERTS: '' });

  test('run --rm and run -d + exec + stop + rm: the runtime calls served by workers', { skip: workers.skip }, async () => {
    const pool = workers.pool();
    await pool.waitFull();
    const served = pool.served('carton-runtime');
    const r = h.docker(['run', '--rm', '--runtime', 'carton', IMAGE, 'sh', '-c', 'echo hi; exit 3']);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    await pool.waitFull();
    const id = ok(h.docker(['run', '-d', '--runtime', 'carton', IMAGE, 'sleep', '60']), 'run -d').trim();
    await pool.waitFull();
    const e = h.docker(['exec', id, 'sh', '-c', 'echo in; exit 2']);
    assert.equal(e.status, 2, e.stderr);
    assert.equal(e.stdout, 'in\n');
    await pool.waitFull();
    ok(h.docker(['stop', '-t', '1', id]), 'stop');
    ok(h.docker(['rm', id]), 'rm');
    const ran = pool.served('carton-runtime') - served;
    assert.ok(ran >= 5, `workers ran ${ran} runtime calls (create, start, exec, kill, delete at least)`);
  });
});

test('carton and runc gave the same results', { skip: missing }, () => {
  assert.ok(Object.keys(seen.runc).length >= 5, `runc scenarios ran: ${JSON.stringify(seen.runc)}`);
  assert.deepEqual(seen.carton, seen.runc);
});
