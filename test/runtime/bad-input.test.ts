/**
 * Bad input (issue 2 §4): each case gets a clear error naming the field, a
 * non-zero exit, and leaves no mount, cgroup, state dir or process behind.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Spec } from '../../src/oci/spec';
import { makeBundle, minimalSpec } from '../helpers/busybox';
import { leftovers, runtimeDetached, runtimeSync, stateOf, waitFor, runtimeFixture } from './helpers';

const fx = runtimeFixture();
const root = fx.root;
after(() => fx.cleanup());

function bundleWith(mutate: (s: Spec) => void, args = ['true']): string {
  const spec = minimalSpec(args);
  mutate(spec);
  const b = makeBundle(spec);
  fx.keep(b);
  return b;
}

/** create must fail with `pattern` in the message and leave nothing behind. */
function expectCreateFails(b: string, pattern: RegExp, extra: string[] = []): void {
  const id = fx.id('bad');
  const logFile = path.join(b, 'log.json');
  const r = runtimeDetached(root, ['--log', logFile, '--log-format', 'json', 'create', '-b', b, ...extra, id]);
  assert.notEqual(r.status, 0, 'create should fail');
  assert.match(r.stderr, pattern);
  const last = fs.readFileSync(logFile, 'utf8').trim().split('\n').pop()!;
  const entry = JSON.parse(last) as { level: string; msg: string; time: string };
  assert.equal(entry.level, 'error');
  assert.match(entry.msg, pattern);
  // Mounts are checked by bundle path and id (other tests on this machine mount and unmount meanwhile).
  assert.deepEqual(leftovers(root, id, b), []);
}

describe('bad input leaves nothing behind', () => {
  test('malformed config.json', () => {
    const b = bundleWith(() => {});
    fs.writeFileSync(path.join(b, 'config.json'), '{"ociVersion": "1.2.0", "process": ');
    expectCreateFails(b, /config\.json: invalid JSON/);
  });

  test('unknown namespace type', () => {
    const b = bundleWith((s) => s.linux!.namespaces!.push({ type: 'bogus' as never }));
    expectCreateFails(b, /linux\.namespaces\[6\].*bogus/);
  });

  test('nonexistent rootfs', () => {
    const b = bundleWith((s) => (s.root = { path: 'no-such-rootfs' }));
    expectCreateFails(b, /root\.path.*no-such-rootfs.*no such file or directory/);
  });

  test('a mount destination escaping through a symlink lands inside the rootfs or fails', () => {
    const outside = fs.mkdtempSync('/tmp/carton-test-outside-');
    try {
      const b = bundleWith((s) => s.mounts!.push({ destination: '/escape/target', type: 'tmpfs', source: 'tmpfs' }), ['true']);
      fs.symlinkSync(outside, path.join(b, 'rootfs', 'escape'));
      const id = fx.id('symlink');
      const r = runtimeSync(root, ['run', '-b', b, id]);
      // Either way, the host directory the symlink names got no mount and no new entries.
      assert.deepEqual(fs.readdirSync(outside), []);
      assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(outside));
      assert.deepEqual(leftovers(root, id, b), [], r.stderr);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  test('a memory limit below what the container needs', () => {
    const b = bundleWith((s) => (s.linux!.resources = { ...s.linux!.resources, memory: { limit: 4096 } }));
    expectCreateFails(b, /linux\.resources\.memory\.limit \(4096\)/);
  });

  test('a limit of the wrong type (a string where an integer goes)', () => {
    const b = bundleWith((s) => (s.linux!.resources = { ...s.linux!.resources, memory: { limit: 'abc' as unknown as number } }));
    expectCreateFails(b, /linux\.resources\.memory\.limit: expected an integer, got "abc"/);
  });

  test('a CPU quota the kernel rejects', () => {
    const b = bundleWith((s) => (s.linux!.resources = { ...s.linux!.resources, cpu: { quota: 500, period: 100000 } }));
    expectCreateFails(b, /linux\.resources\.cpu\.quota.*invalid argument/);
  });

  test('an rlimit above the hard limit (no CAP_SYS_RESOURCE)', () => {
    const hard = /Max open files\s+\d+\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))![1];
    const above = Number(hard) * 2;
    const b = bundleWith((s) => (s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: above, hard: above }]));
    expectCreateFails(b, /process\.rlimits\[0\].*RLIMIT_NOFILE.*operation not permitted/);
  });

  test('a missing --console-socket path', () => {
    const b = bundleWith((s) => (s.process!.terminal = true));
    expectCreateFails(b, /--console-socket.*no such file or directory/, ['--console-socket', '/tmp/carton-test-no-such.sock']);
  });

  test('a failing prestart hook aborts create', () => {
    const b = bundleWith((s) => (s.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'echo nope >&2; exit 3'] }] }));
    expectCreateFails(b, /hooks\.prestart\[0\] \(\/bin\/sh\): exit status 3: nope/);
  });

  test('a command that does not exist', () => {
    const b = bundleWith(() => {}, ['/no/such/binary']);
    expectCreateFails(b, /no\/such\/binary.*no such file or directory/);
  });

  test('a duplicate id', () => {
    const b = bundleWith(() => {}, ['sleep', '30']);
    const id = fx.id('dup');
    assert.equal(runtimeDetached(root, ['create', '-b', b, id]).status, 0);
    const st = stateOf(root, id);
    const r = runtimeDetached(root, ['create', '-b', b, id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /container with id exists: /);
    // The first container is untouched.
    assert.deepEqual(stateOf(root, id), st);
    assert.equal(runtimeSync(root, ['delete', id]).status, 0);
    assert.deepEqual(leftovers(root, id, b), []);
  });

  test('start twice, and exec into a stopped container', () => {
    const b = bundleWith(() => {}, ['true']);
    const id = fx.id('twice');
    assert.equal(runtimeDetached(root, ['create', '-b', b, id]).status, 0);
    assert.equal(runtimeSync(root, ['start', id]).status, 0);
    assert.ok(waitFor(() => stateOf(root, id).status === 'stopped'));
    const again = runtimeSync(root, ['start', id]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /cannot start a container that has stopped/);
    const ex = runtimeSync(root, ['exec', id, 'true']);
    assert.equal(ex.status, 255);
    assert.match(ex.stderr, /cannot exec in a stopped container/);
    assert.equal(runtimeSync(root, ['delete', id]).status, 0);
    assert.deepEqual(leftovers(root, id, b), []);
  });

  test('an invalid id', () => {
    const b = bundleWith(() => {});
    const r = runtimeSync(root, ['create', '-b', b, '../x']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /invalid container id format/);
  });
});
