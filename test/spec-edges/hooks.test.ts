/**
 * Hooks (issue 3 §1): prestart, createRuntime, createContainer, startContainer, poststart and
 * poststop each run once, at their moment, with the state JSON on stdin, in the namespace the
 * spec names: the runtime's for prestart/createRuntime/poststart/poststop, the container's
 * (mount, pid, network, uts, ipc) for createContainer/startContainer. One log file, bind-mounted
 * into the container at /hooklog, records the order and each hook's namespaces.
 * Failures: createContainer/startContainer/poststart/poststop as the spec says (a failing
 * poststart or poststop hook is a warning only).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Hook, Spec } from '../../src/oci/spec';
import { Lab, waitUntil } from '../badinput/harness';

const lab = new Lab();
const logDirs: string[] = [];
after(() => {
  lab.cleanup();
  for (const d of logDirs) fs.rmSync(d, { recursive: true, force: true });
});

const NS = ['mnt', 'pid', 'net', 'uts', 'ipc'] as const;
type Kind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

interface Entry {
  name: string;
  ns: Record<(typeof NS)[number], string>;
}

/** A hook appending "<name> <mnt> <pid> <net> <uts> <ipc> <$CARTON_HOOK_ENV>" to <dir>/order and saving its stdin. */
function recorder(name: string, dir: string): Hook {
  const nsList = NS.map((n) => `$(readlink /proc/self/ns/${n})`).join(' ');
  return {
    path: '/bin/sh',
    args: ['sh', '-c', `echo "${name} ${nsList} $CARTON_HOOK_ENV" >> ${dir}/order; cat > ${dir}/${name}.json`],
    env: ['CARTON_HOOK_ENV=from-config', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
  };
}

function setup(label: string) {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-hooklog-'));
  fs.chmodSync(logDir, 0o777);
  logDirs.push(logDir);
  const id = lab.id(label);
  const inner = '/hooklog';
  const b = lab.bundle(id, ['sh', '-c', `echo "process ${NS.map((n) => `$(readlink /proc/self/ns/${n})`).join(' ')}" >> ${inner}/order`], (s: Spec) => {
    s.mounts!.push({ destination: inner, type: 'bind', source: logDir, options: ['rbind', 'rw'] });
    s.annotations = { 'org.carton.test': 'hooks' };
    s.hooks = {
      prestart: [recorder('prestart', logDir)],
      createRuntime: [recorder('createRuntime', logDir)],
      // Before pivot_root: the container's mount namespace still shows the host's tree.
      createContainer: [recorder('createContainer', logDir)],
      // After pivot_root: the path resolves in the rootfs (busybox sh), the log through the bind mount.
      startContainer: [recorder('startContainer', inner)],
      poststart: [recorder('poststart', logDir)],
      poststop: [recorder('poststop', logDir)],
    };
  });
  const entries = (): Entry[] => {
    const text = fs.existsSync(path.join(logDir, 'order')) ? fs.readFileSync(path.join(logDir, 'order'), 'utf8') : '';
    return text.trim().split('\n').filter(Boolean).map((l) => {
      const [name, ...values] = l.split(' ');
      return { name, ns: Object.fromEntries(NS.map((n, i) => [n, values[i]])) as Entry['ns'] };
    });
  };
  const stateOf = (kind: Kind) => JSON.parse(fs.readFileSync(path.join(logDir, `${kind}.json`), 'utf8')) as Record<string, unknown>;
  const envOf = (kind: Kind) => fs.readFileSync(path.join(logDir, 'order'), 'utf8').split('\n').find((l) => l.startsWith(`${kind} `))!.split(' ')[NS.length + 1];
  return { id, b, logDir, entries, stateOf, envOf };
}

const hostNs = Object.fromEntries(NS.map((n) => [n, fs.readlinkSync(`/proc/self/ns/${n}`)])) as Entry['ns'];
/** What the lifecycle test saw, for the namespace test after it. */
const seen: { byName?: Record<string, Entry['ns']>; containerNs?: Entry['ns'] } = {};
const nsOfPid = (pid: number) => Object.fromEntries(NS.map((n) => [n, fs.readlinkSync(`/proc/${pid}/ns/${n}`)])) as Entry['ns'];

describe('hooks: moment, state on stdin, namespace', () => {
  test('create/start/delete: each hook once, in lifecycle order, with the right status and namespaces', () => {
    const h = setup('hooks');
    assert.equal(lab.detached('carton', ['create', '-b', h.b, h.id]).status, 0);
    const pid = lab.state('carton', h.id).pid;
    const containerNs = nsOfPid(pid);
    for (const n of NS) assert.notEqual(containerNs[n], hostNs[n], `the container has its own ${n} namespace`);
    // create runs prestart, createRuntime (runtime namespace) and createContainer (container namespace), nothing else.
    assert.deepEqual(h.entries().map((e) => e.name), ['prestart', 'createRuntime', 'createContainer']);

    assert.equal(lab.run('carton', ['start', h.id]).status, 0);
    assert.ok(waitUntil(() => lab.state('carton', h.id).status === 'stopped'));
    assert.equal(lab.run('carton', ['delete', h.id]).status, 0);

    const entries = h.entries();
    const names = entries.map((e) => e.name);
    // The process and poststart race (poststart runs after the process started); everything else is ordered.
    assert.deepEqual(names.filter((n) => n !== 'process'), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    assert.ok(names.indexOf('process') > names.indexOf('startContainer'), `startContainer before the process: ${names}`);
    assert.ok(names.indexOf('process') < names.indexOf('poststop'));

    const byName = Object.fromEntries(entries.map((e) => [e.name, e.ns]));
    for (const k of ['prestart', 'createRuntime', 'poststart', 'poststop']) assert.deepEqual(byName[k], hostNs, `${k} runs in the runtime namespace`);
    for (const k of ['createContainer', 'process']) assert.equal(byName[k].mnt, containerNs.mnt, `${k} runs in the container's mount namespace`);
    // startContainer wrote its line through /hooklog, a path only the container's mount namespace has;
    // its own view of /proc/self is checked in the namespace test below.
    seen.byName = byName;
    seen.containerNs = containerNs;

    const expected: Record<Kind, string> = { prestart: 'creating', createRuntime: 'creating', createContainer: 'creating', startContainer: 'created', poststart: 'running', poststop: 'stopped' };
    for (const [kind, status] of Object.entries(expected) as [Kind, string][]) {
      const st = h.stateOf(kind);
      assert.equal(st.id, h.id, kind);
      assert.equal(st.bundle, h.b, kind);
      assert.equal(st.ociVersion, '1.2.0', kind);
      assert.deepEqual(st.annotations, { 'org.carton.test': 'hooks' }, kind);
      assert.equal(st.status, status, `${kind} status`);
      if (kind !== 'poststop') assert.equal(st.pid, pid, `${kind} pid`);
      assert.equal(h.envOf(kind), 'from-config', `${kind} gets hooks[].env`);
    }
    assert.deepEqual(lab.leaks('carton', h.id, h.b), []);
  });

  test('the same order and namespaces through run', () => {
    const h = setup('hooks-run');
    const r = lab.run('carton', ['run', '-b', h.b, h.id]);
    assert.equal(r.status, 0, r.stderr);
    const names = h.entries().map((e) => e.name);
    assert.deepEqual(names.filter((n) => n !== 'process'), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    const byName = Object.fromEntries(h.entries().map((e) => [e.name, e.ns]));
    assert.equal(byName.createContainer.mnt, byName.process.mnt);
    assert.deepEqual(byName.prestart, hostNs);
    assert.equal(h.stateOf('startContainer').status, 'created');
    assert.equal(h.stateOf('poststop').status, 'stopped');
    assert.deepEqual(lab.leaks('carton', h.id, h.b), []);
  });
});

describe('hooks in the container namespace', () => {
  test('createContainer shares the container\'s pid, network, uts and ipc namespaces too, not only its mounts', () => {
    assert.ok(seen.byName, 'the lifecycle test ran');
    assert.deepEqual(seen.byName!.createContainer, seen.containerNs);
  });

  test('startContainer sees the container\'s hostname and network (uts, net)', () => {
    const id = lab.id('sc-ns');
    const b = lab.bundle(id, ['true'], (s) => {
      s.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'hostname > /tmp/sc-uts; ip -o link | cut -d: -f2 > /tmp/sc-net'] }] };
    });
    assert.equal(lab.detached('carton', ['create', '-b', b, id]).status, 0);
    assert.equal(lab.run('carton', ['start', id]).status, 0);
    assert.equal(fs.readFileSync(path.join(b, 'rootfs', 'tmp', 'sc-uts'), 'utf8'), 'carton-test\n');
    assert.deepEqual(fs.readFileSync(path.join(b, 'rootfs', 'tmp', 'sc-net'), 'utf8').trim().split('\n').map((l) => l.trim()), ['lo']);
    assert.ok(waitUntil(() => lab.state('carton', id).status === 'stopped'));
    assert.equal(lab.run('carton', ['delete', id]).status, 0);
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });

  test('startContainer runs in the container\'s pid namespace: /proc/self works and shows it', () => {
    assert.ok(seen.byName, 'the lifecycle test ran');
    // Its readlinks went through the container's /proc: they fail outside its pid namespace.
    assert.deepEqual(seen.byName!.startContainer, seen.containerNs);
  });

  test('createContainer and startContainer hooks: NSpid and ns/pid are the container\'s (create/start and run)', () => {
    // createContainer runs before pivot_root (the host's /proc: NSpid lists the host pid, then
    // the container's); startContainer after it (the container's /proc: one level only).
    const probe = (dir: string, name: string) =>
      `readlink /proc/self/ns/pid > ${dir}/${name}-ns; grep '^NSpid:' /proc/self/status > ${dir}/${name}-nspid`;
    for (const mode of ['create', 'run'] as const) {
      const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-hookpid-'));
      fs.chmodSync(logDir, 0o777);
      logDirs.push(logDir);
      const id = lab.id(`pidns-${mode}`);
      // The process records its own pid namespace (from the container's /proc) for comparison.
      const b = lab.bundle(id, ['sh', '-c', 'readlink /proc/self/ns/pid > /hooklog/process-ns'], (s) => {
        s.mounts!.push({ destination: '/hooklog', type: 'bind', source: logDir, options: ['rbind', 'rw'] });
        s.hooks = {
          createContainer: [{ path: '/bin/sh', args: ['sh', '-c', probe(logDir, 'cc')] }],
          startContainer: [{ path: '/bin/sh', args: ['sh', '-c', probe('/hooklog', 'sc')] }],
        };
      });
      if (mode === 'create') {
        assert.equal(lab.detached('carton', ['create', '-b', b, id]).status, 0);
        const pid = lab.state('carton', id).pid;
        const containerPidNs = fs.readlinkSync(`/proc/${pid}/ns/pid`);
        assert.notEqual(containerPidNs, fs.readlinkSync('/proc/self/ns/pid'));
        const r = lab.run('carton', ['start', id]);
        assert.equal(r.status, 0, r.stderr);
        assert.ok(waitUntil(() => lab.state('carton', id).status === 'stopped'));
        assert.equal(lab.run('carton', ['delete', id]).status, 0);
        assert.equal(fs.readFileSync(path.join(logDir, 'sc-ns'), 'utf8').trim(), containerPidNs, 'startContainer ns/pid');
      } else {
        const r = lab.run('carton', ['run', '-b', b, id]);
        assert.equal(r.status, 0, r.stderr);
      }
      const processNs = fs.readFileSync(path.join(logDir, 'process-ns'), 'utf8').trim();
      assert.match(processNs, /^pid:\[\d+\]$/);
      assert.equal(fs.readFileSync(path.join(logDir, 'cc-ns'), 'utf8').trim(), processNs, `${mode}: createContainer ns/pid`);
      assert.equal(fs.readFileSync(path.join(logDir, 'sc-ns'), 'utf8').trim(), processNs, `${mode}: startContainer ns/pid`);
      // Two levels seen from the host's /proc (host pid, container pid), one from the container's.
      assert.match(fs.readFileSync(path.join(logDir, 'cc-nspid'), 'utf8'), /^NSpid:\s+\d+\s+\d+\s*$/, `${mode}: createContainer NSpid`);
      const sc = /^NSpid:\s+(\d+)\s*$/.exec(fs.readFileSync(path.join(logDir, 'sc-nspid'), 'utf8'));
      assert.ok(sc, `${mode}: startContainer NSpid has one level`);
      assert.ok(Number(sc![1]) > 1, 'not the container init itself');
      assert.deepEqual(lab.leaks('carton', id, b), []);
    }
  });
});

describe('hook failures', () => {
  const failing = (name: string): Hook => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${name}-broke >&2; exit 4`] });

  test('a failing createContainer hook aborts create and cleans up', () => {
    const id = lab.id('fail-cc');
    const b = lab.bundle(id, ['true'], (s) => (s.hooks = { createContainer: [failing('cc')] }));
    const r = lab.detached('carton', ['create', '-b', b, id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /hooks\.createContainer\[0\] \(\/bin\/sh\): exit status 4: cc-broke/);
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });

  test('a failing startContainer hook fails start and stops the container (spec: "generate an error, stop the container"); poststop still runs on delete', () => {
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-hooklog-'));
    logDirs.push(logDir);
    const id = lab.id('fail-sc');
    const b = lab.bundle(id, ['sleep', '60'], (s) => (s.hooks = { startContainer: [failing('sc')], poststop: [recorder('poststop', logDir)] }));
    assert.equal(lab.detached('carton', ['create', '-b', b, id]).status, 0);
    const r = lab.run('carton', ['start', id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /hooks\.startContainer\[0\] \(\/bin\/sh\): exit status 4: sc-broke/);
    assert.ok(waitUntil(() => lab.state('carton', id).status === 'stopped'), `status ${lab.state('carton', id).status}`);
    assert.equal(lab.run('carton', ['delete', id]).status, 0);
    assert.ok(fs.existsSync(path.join(logDir, 'poststop.json')));
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });

  test('a startContainer hook past its timeout (in the container\'s pid namespace, with a child) is killed; start fails; the container stops and is deleted cleanly', () => {
    const id = lab.id('sc-timeout');
    const b = lab.bundle(id, ['sleep', '60'], (s) => (s.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'sleep 30 & sleep 30'], timeout: 1 }] }));
    assert.equal(lab.detached('carton', ['create', '-b', b, id]).status, 0);
    const t0 = Date.now();
    const r = lab.run('carton', ['start', id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /hooks\.startContainer\[0\] \(\/bin\/sh\): timed out after 1s and was killed/);
    // The hook's processes were in the container's pid namespace: once they are gone, so is the container.
    assert.ok(waitUntil(() => lab.state('carton', id).status === 'stopped'), `status ${lab.state('carton', id).status}`);
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
    assert.equal(lab.run('carton', ['delete', id]).status, 0);
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });

  // runtime-spec 1.2: "If any poststart hook fails, the runtime MUST log a warning, but the
  // remaining hooks and lifecycle continue as if the hook had succeeded." (runc 1.1.5, which
  // runs them inside `create` and fails it, is no reference here.)
  test('a failing poststart hook is a warning: start exits 0, the container runs on, the next poststart hook runs', () => {
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-hooklog-'));
    logDirs.push(logDir);
    const logFile = path.join(logDir, 'runtime.log');
    const id = lab.id('fail-ps');
    const b = lab.bundle(id, ['sleep', '60'], (s) => (s.hooks = { poststart: [failing('ps'), recorder('poststart', logDir)] }));
    assert.equal(lab.detached('carton', ['create', '-b', b, id]).status, 0);
    const r = lab.run('carton', ['--log', logFile, '--log-format', 'json', 'start', id]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: hooks\.poststart\[0\] \(\/bin\/sh\): exit status 4: ps-broke/);
    const logged = fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
    assert.ok(logged.some((l) => l.level === 'warning' && /hooks\.poststart\[0\] \(\/bin\/sh\): exit status 4: ps-broke/.test(l.msg)), JSON.stringify(logged));
    // The second hook ran with the running state; the container is still running.
    assert.equal(JSON.parse(fs.readFileSync(path.join(logDir, 'poststart.json'), 'utf8')).status, 'running');
    assert.equal(lab.state('carton', id).status, 'running');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    assert.equal(lab.state('carton', id).status, 'running', 'nothing stops it a moment later either');
    assert.equal(lab.run('carton', ['kill', id, 'KILL']).status, 0);
    assert.ok(waitUntil(() => lab.state('carton', id).status === 'stopped'));
    assert.equal(lab.run('carton', ['delete', id]).status, 0);
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });

  test('through run too: the warning, the next poststart hook, and the process\'s own exit code', () => {
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-hooklog-'));
    logDirs.push(logDir);
    const id = lab.id('fail-ps-run');
    // The process waits for the second poststart hook's mark, so it can only exit 3 if that hook ran.
    const b = lab.bundle(id, ['sh', '-c', 'i=0; while [ ! -e /hooklog/poststart.json ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; exit 3'], (s) => {
      s.mounts!.push({ destination: '/hooklog', type: 'bind', source: logDir, options: ['rbind', 'rw'] });
      s.hooks = { poststart: [failing('ps'), recorder('poststart', logDir)] };
    });
    const r = lab.run('carton', ['run', '-b', b, id]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /warning: hooks\.poststart\[0\] \(\/bin\/sh\): exit status 4: ps-broke/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(logDir, 'poststart.json'), 'utf8')).status, 'running');
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });

  test('a failing poststop hook is a warning: delete succeeds and removes everything (spec)', () => {
    const id = lab.id('fail-pst');
    const b = lab.bundle(id, ['true'], (s) => (s.hooks = { poststop: [failing('pst'), { path: '/bin/true' }] }));
    assert.equal(lab.run('carton', ['run', '-b', b, id]).status, 0);
    const id2 = lab.id('fail-pst-del');
    const b2 = lab.bundle(id2, ['true'], (s) => (s.hooks = { poststop: [failing('pst')] }));
    assert.equal(lab.detached('carton', ['create', '-b', b2, id2]).status, 0);
    const r = lab.run('carton', ['delete', '--force', id2]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /hooks\.poststop\[0\] \(\/bin\/sh\): exit status 4: pst-broke/);
    assert.deepEqual(lab.leaks('carton', id, b), []);
    assert.deepEqual(lab.leaks('carton', id2, b2), []);
  });
});
