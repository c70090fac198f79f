/** exec into a running container, hooks with the state on stdin, spec, pause/resume/update and the CLI surface. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Spec } from '../../src/oci/spec';
import { leftovers, runtimeDetached, runtimeFixture, runtimeSync, stateOf, waitFor } from './helpers';

const fx = runtimeFixture();
const root = fx.root;
after(() => fx.cleanup());
const bundleFor = fx.bundleFor;
const id = fx.id;

describe('exec', () => {
  const b = bundleFor(['sleep', '60'], (s) => (s.process!.env!.push('FROM_CONFIG=yes')));
  const cid = id('exec');

  test('runs in the container with config env, flags and exit code', () => {
    assert.equal(runtimeDetached(root, ['run', '-d', '-b', b, cid]).status, 0);
    const r = runtimeSync(root, ['exec', '--env', 'EXTRA=1', '--cwd', '/tmp', '--user', '1000:1000', cid, 'sh', '-c', 'echo $FROM_CONFIG $EXTRA; pwd; id -u; id -g; hostname']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'yes 1\n/tmp\n1000\n1000\ncarton-test\n');
    assert.equal(runtimeSync(root, ['exec', cid, 'sh', '-c', 'exit 7']).status, 7);
  });

  test('sees the container pid namespace and stays in its cgroup', () => {
    const r = runtimeSync(root, ['exec', cid, 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; cat /proc/self/cgroup | grep -E ":memory:|^0::"']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^sleep 60 \n/);
    // In the container's cgroup namespace its own cgroup is "/" (v1 memory line, or v2's 0::).
    assert.match(r.stdout, /^\d+:(memory)?:\/$/m);
  });

  test('--process FILE, --detach and --pid-file', () => {
    const procFile = path.join(b, 'process.json');
    fs.writeFileSync(procFile, JSON.stringify({ args: ['sleep', '30'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'] }));
    const pidFile = path.join(b, 'exec.pid');
    const r = runtimeDetached(root, ['exec', '--process', procFile, '--detach', '--pid-file', pidFile, cid]);
    assert.equal(r.status, 0, r.stderr);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    assert.ok(pid > 0);
    assert.match(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^sleep\0/);
    const pids = JSON.parse(runtimeSync(root, ['ps', '--format', 'json', cid]).stdout) as number[];
    assert.ok(pids.includes(pid), `${pid} in ${pids}`);
  });

  test('a missing command is a clear error (255, as runc exec)', () => {
    const r = runtimeSync(root, ['exec', cid, '/no/such']);
    assert.equal(r.status, 255);
    assert.match(r.stderr, /\/no\/such.*no such file or directory/);
  });

  test('pause, resume, update', () => {
    assert.equal(runtimeSync(root, ['pause', cid]).status, 0);
    assert.equal(stateOf(root, cid).status, 'paused');
    assert.match(runtimeSync(root, ['exec', cid, 'true']).stderr, /paused/);
    assert.match(runtimeSync(root, ['pause', cid]).stderr, /container not running/);
    assert.equal(runtimeSync(root, ['resume', cid]).status, 0);
    assert.equal(stateOf(root, cid).status, 'running');
    assert.match(runtimeSync(root, ['resume', cid]).stderr, /container not paused/);
    const u = runtimeSync(root, ['update', '--memory', '64m', '--pids-limit', '50', cid]);
    assert.equal(u.status, 0, u.stderr);
    // The container's /sys/fs/cgroup: v2 shows its own cgroup's files, v1 one dir per controller.
    const r = runtimeSync(root, ['exec', cid, 'sh', '-c',
      'cd /sys/fs/cgroup; if [ -f memory.max ]; then cat memory.max pids.max; else cat memory/memory.limit_in_bytes pids/pids.max; fi']);
    assert.equal(r.stdout, `${64 * 1024 * 1024}\n50\n`, r.stderr);
    const res = runtimeSync(root, ['update', '-r', '-', cid], { input: JSON.stringify({ pids: { limit: 60 } }) });
    assert.equal(res.status, 0, res.stderr);
    const ev = JSON.parse(runtimeSync(root, ['events', '--stats', cid]).stdout) as { type: string; id: string };
    assert.equal(ev.type, 'stats');
    assert.equal(ev.id, cid);
  });

  test('delete --force removes it and its exec processes', () => {
    assert.equal(runtimeSync(root, ['delete', '--force', cid]).status, 0);
    assert.deepEqual(leftovers(root, cid, b), []);
  });
});

describe('hooks', () => {
  test('each hook gets the state on stdin at its moment; poststop runs on delete', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-hooks-'));
    const hook = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `cat > ${dir}/${name}.json`] });
    const b = bundleFor(['true'], (s) => {
      s.hooks = {
        prestart: [hook('prestart')],
        createRuntime: [hook('createRuntime')],
        poststart: [hook('poststart')],
        poststop: [hook('poststop')],
      };
    });
    const cid = id('hooks');
    try {
      assert.equal(runtimeDetached(root, ['create', '-b', b, cid]).status, 0);
      for (const name of ['prestart', 'createRuntime']) {
        const st = JSON.parse(fs.readFileSync(`${dir}/${name}.json`, 'utf8'));
        assert.equal(st.id, cid);
        assert.equal(st.status, 'creating');
        assert.ok(st.pid > 0);
        assert.equal(st.bundle, b);
      }
      assert.equal(fs.existsSync(`${dir}/poststart.json`), false);
      assert.equal(runtimeSync(root, ['start', cid]).status, 0);
      assert.equal(JSON.parse(fs.readFileSync(`${dir}/poststart.json`, 'utf8')).status, 'running');
      assert.ok(waitFor(() => stateOf(root, cid).status === 'stopped'));
      assert.equal(runtimeSync(root, ['delete', cid]).status, 0);
      assert.equal(JSON.parse(fs.readFileSync(`${dir}/poststop.json`, 'utf8')).status, 'stopped');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('createContainer hooks run before pivot_root, startContainer hooks inside the container root', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-nshooks-'));
    const b = bundleFor(['true'], (s) => {
      s.hooks = {
        // Before pivot_root the container's mount namespace still shows the host's files (spec).
        createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${dir}/createContainer.json`] }],
        // After pivot_root: /tmp is the container's, i.e. the rootfs's tmp seen from the host.
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /tmp/startContainer.json'] }],
      };
    });
    const cid = id('nshooks');
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    assert.equal(runtimeDetached(root, ['create', '-b', b, cid]).status, 0);
    const created = JSON.parse(fs.readFileSync(path.join(dir, 'createContainer.json'), 'utf8'));
    assert.equal(created.id, cid);
    assert.equal(fs.existsSync(path.join(b, 'rootfs', 'tmp', 'startContainer.json')), false);
    assert.equal(runtimeSync(root, ['start', cid]).status, 0);
    assert.equal(JSON.parse(fs.readFileSync(path.join(b, 'rootfs', 'tmp', 'startContainer.json'), 'utf8')).id, cid);
    assert.ok(waitFor(() => stateOf(root, cid).status === 'stopped'));
    assert.equal(runtimeSync(root, ['delete', cid]).status, 0);
    // The same hooks through run (the init's SYNCs answered in-process).
    fs.rmSync(path.join(b, 'rootfs', 'tmp', 'startContainer.json'));
    const r = runtimeSync(root, ['run', '-b', b, id('nshooks-run')]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(b, 'rootfs', 'tmp', 'startContainer.json')));
  });

  test('a hook past its timeout is killed and create fails cleanly', () => {
    const b = bundleFor(['true'], (s) => (s.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] }));
    const cid = id('timeout');
    const t0 = Date.now();
    const r = runtimeDetached(root, ['create', '-b', b, cid]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /hooks\.createRuntime\[0\] \(\/bin\/sleep\): timed out after 1s/);
    assert.ok(Date.now() - t0 < 10_000);
    assert.deepEqual(leftovers(root, cid, b), []);
  });
});

describe('command line', () => {
  test('--version', () => {
    const r = runtimeSync(root, ['--version']);
    assert.match(r.stdout, /^carton-runtime version 0\.1\.0\ncommit: \S+\nspec: 1\.2\.0\n$/);
  });

  test('--help on every command', () => {
    for (const c of ['create', 'start', 'run', 'exec', 'state', 'kill', 'delete', 'list', 'ps', 'spec', 'pause', 'resume', 'update', 'events', 'features']) {
      const r = runtimeSync(root, [c, '--help']);
      assert.equal(r.status, 0, c);
      assert.match(r.stdout, new RegExp(`^Usage: carton-runtime ${c}`), c);
    }
  });

  test('global flags in any order before the command; unknown flags are errors', () => {
    const r = runtimeSync(root, ['--log-format', 'json', '--debug', 'list', '-q']);
    assert.equal(r.status, 0, r.stderr);
    const bad = runtimeSync(root, ['list', '--bogus']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /flag provided but not defined: --bogus/);
    const sys = runtimeSync(root, ['--systemd-cgroup', 'list']);
    assert.equal(sys.status, 1);
    assert.match(sys.stderr, /--systemd-cgroup/);
  });

  test('spec writes config.json and refuses to overwrite it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-spec-'));
    try {
      assert.equal(runtimeSync(root, ['spec', '--bundle', dir]).status, 0);
      const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Spec;
      assert.deepEqual(spec.process!.args, ['sh']);
      assert.equal(spec.root!.path, 'rootfs');
      const again = runtimeSync(root, ['spec', '-b', dir]);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /exists/);
      fs.rmSync(path.join(dir, 'config.json'));
      assert.equal(runtimeSync(root, ['spec', '--rootless', '-b', dir]).status, 0);
      const rl = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Spec;
      assert.ok(rl.linux!.namespaces!.some((n) => n.type === 'user'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('features is JSON', () => {
    const f = JSON.parse(runtimeSync(root, ['features']).stdout);
    assert.equal(f.ociVersionMax, '1.2.0');
    assert.ok(f.linux.namespaces.includes('pid'));
  });
});
