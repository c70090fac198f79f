/**
 * Hooks (issue 3 §1): prestart, createRuntime, createContainer, startContainer, poststart and
 * poststop each run once, at their moment, with the state JSON on stdin, in the namespace the
 * spec names: the runtime's for prestart/createRuntime/poststart/poststop, the container's
 * (mount, network, uts, ipc) for createContainer/startContainer. One log file, bind-mounted
 * into the container at /hooklog, records the order and each hook's namespaces.
 * Failures: createContainer/startContainer/poststart/poststop as the spec says.
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

const NS = ['mnt', 'net', 'uts', 'ipc'] as const;
type Kind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

interface Entry {
  name: string;
  ns: Record<(typeof NS)[number], string>;
}

/** A hook appending "<name> <mnt> <net> <uts> <ipc> <$CARTON_HOOK_ENV>" to <dir>/order and saving its stdin. */
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
      const [name, mnt, net, uts, ipc] = l.split(' ');
      return { name, ns: { mnt, net, uts, ipc } };
    });
  };
  const stateOf = (kind: Kind) => JSON.parse(fs.readFileSync(path.join(logDir, `${kind}.json`), 'utf8')) as Record<string, unknown>;
  const envOf = (kind: Kind) => fs.readFileSync(path.join(logDir, 'order'), 'utf8').split('\n').find((l) => l.startsWith(`${kind} `))!.split(' ')[5];
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
  test('createContainer shares the container\'s network, uts and ipc namespaces too, not only its mounts', () => {
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

  test('startContainer can read /proc/self (it runs in the container\'s pid namespace, whose /proc is mounted)', { todo: 'not entered: nsenter -p forks, and a timed-out hook\'s orphan would keep the pid namespace (and the failed container) alive until the host init reaps it; needs the init (or a subreaper) to run the hook' }, () => {
    assert.ok(seen.byName, 'the lifecycle test ran');
    assert.deepEqual(seen.byName!.startContainer, seen.containerNs);
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

  // runc 1.1.5 is no reference here: it runs poststart hooks during `create` (its create is
  // libcontainer's Start), fails create, and destroys the container. Carton runs them after the
  // process started, fails `start` naming the hook and stops the container (runtime-spec 1.2 says
  // only to warn; a failure that engines see, as they do with runc, is the safer reading).
  test('a failing poststart hook fails start, names the hook and stops the container', () => {
    const id = lab.id('fail-ps');
    const b = lab.bundle(id, ['sleep', '60'], (s) => (s.hooks = { poststart: [failing('ps')] }));
    assert.equal(lab.detached('carton', ['create', '-b', b, id]).status, 0);
    const r = lab.run('carton', ['start', id]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /hooks\.poststart\[0\] \(\/bin\/sh\): exit status 4: ps-broke/);
    assert.ok(waitUntil(() => lab.state('carton', id).status === 'stopped'));
    assert.equal(lab.run('carton', ['delete', id]).status, 0);
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
