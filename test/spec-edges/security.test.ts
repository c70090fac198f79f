/**
 * The remaining process/linux fields of issue 3 §1, checked from inside real containers:
 * process.apparmorProfile and selinuxLabel (applied where the host has the LSM, skipped where
 * it does not), linux.personality, linux.timeOffsets with a time namespace, linux.intelRdt.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Spec } from '../../src/oci/spec';
import { Lab, RUNC_AVAILABLE } from '../badinput/harness';

const lab = new Lab();
after(() => lab.cleanup());

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

const APPARMOR = readOr('/sys/module/apparmor/parameters/enabled', 'N').startsWith('Y');
const SELINUX = fs.existsSync('/sys/fs/selinux/enforce');

function runIn(label: string, args: string[], mutate: (s: Spec) => void, runtime: 'carton' | 'runc' = 'carton') {
  const id = lab.id(label, runtime);
  const b = lab.bundle(id, args, mutate);
  const r = lab.run(runtime, ['run', '-b', b, id]);
  return { ...r, leaks: () => lab.leaks(runtime, id, b) };
}

describe('LSM labels', () => {
  test('apparmorProfile on a host without AppArmor: skipped, the container runs (documented skip)', { skip: APPARMOR ? 'AppArmor is enabled on this host' : undefined }, () => {
    const r = runIn('aa-skip', ['echo', 'ran'], (s) => (s.process!.apparmorProfile = 'carton-test-no-such-profile'));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ran\n');
    assert.deepEqual(r.leaks(), []);
    // For the record: runc 1.1.5 does not skip; it fails writing the attr the kernel lacks.
    if (RUNC_AVAILABLE) {
      const rr = runIn('aa-skip-runc', ['true'], (s) => (s.process!.apparmorProfile = 'carton-test-no-such-profile'), 'runc');
      assert.equal(rr.status, 1);
      assert.match(rr.stderr, /apparmor failed to apply profile: write \/proc\/self\/attr\/exec: invalid argument/);
    }
  });

  test('apparmorProfile on an AppArmor host: "unconfined" is applied and visible inside', { skip: APPARMOR ? undefined : 'no AppArmor on this host (/sys/module/apparmor/parameters/enabled absent)' }, () => {
    const r = runIn('aa-apply', ['cat', '/proc/self/attr/current'], (s) => (s.process!.apparmorProfile = 'unconfined'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^unconfined/);
    const bad = runIn('aa-missing', ['true'], (s) => (s.process!.apparmorProfile = 'carton-test-no-such-profile'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /process\.apparmorProfile \(carton-test-no-such-profile\)/);
    assert.deepEqual(bad.leaks(), []);
  });

  test('selinuxLabel and linux.mountLabel on a host without SELinux: skipped, the container runs', { skip: SELINUX ? 'SELinux is enabled on this host' : undefined }, () => {
    const r = runIn('se-skip', ['echo', 'ran'], (s) => {
      s.process!.selinuxLabel = 'system_u:system_r:container_t:s0:c1,c2';
      s.linux!.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2';
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ran\n');
    assert.deepEqual(r.leaks(), []);
    // For the record: runc 1.1.5 refuses it instead ("selinux label is specified in config, but selinux is disabled or not supported").
    if (RUNC_AVAILABLE) {
      const rr = runIn('se-skip-runc', ['true'], (s) => (s.process!.selinuxLabel = 'system_u:system_r:container_t:s0:c1,c2'), 'runc');
      assert.equal(rr.status, 1);
      assert.match(rr.stderr, /selinux label is specified in config, but selinux is disabled or not supported/);
    }
  });
});

describe('LSM labels skipped: reported as warnings', () => {
  // The planner skips what the host cannot apply; src/runtime/lsm-skips.ts words the warnings.
  test('apparmorProfile, selinuxLabel, mountLabel on a host without either LSM: one warning each on stderr and in --log, and the container runs', { skip: APPARMOR || SELINUX ? 'the host has AppArmor or SELinux' : undefined }, () => {
    const id = lab.id('lsm-warn');
    const b = lab.bundle(id, ['echo', 'ran'], (s) => {
      s.process!.apparmorProfile = 'carton-test-profile';
      s.process!.selinuxLabel = 'system_u:system_r:container_t:s0:c1,c2';
      s.linux!.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2';
    });
    const logFile = path.join(b, 'carton-test-runtime.log');
    const r = lab.run('carton', ['--log', logFile, '--log-format', 'json', 'run', '-b', b, id]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ran\n');
    const expected = [
      'process.apparmorProfile: AppArmor is not enabled on this host; profile "carton-test-profile" not applied',
      'process.selinuxLabel: SELinux is not enabled on this host; label "system_u:system_r:container_t:s0:c1,c2" not applied',
      'linux.mountLabel: SELinux is not enabled on this host; label "system_u:object_r:container_file_t:s0:c1,c2" not applied to the container\'s mounts',
    ];
    for (const w of expected) assert.ok(r.stderr.includes(`carton-runtime: warning: ${w}\n`), `stderr lacks ${JSON.stringify(w)}: ${r.stderr}`);
    const logged = fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
    for (const w of expected) assert.ok(logged.some((l) => l.level === 'warning' && l.msg === w), `--log lacks ${JSON.stringify(w)}`);
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });

  test('exec with an apparmorProfile on a host without AppArmor: the warning, and the process runs', { skip: APPARMOR ? 'the host has AppArmor' : undefined }, () => {
    const id = lab.id('lsm-exec');
    const b = lab.bundle(id, ['sleep', '30']);
    assert.equal(lab.detached('carton', ['run', '-d', '-b', b, id]).status, 0);
    const proc = path.join(b, 'carton-test-process.json');
    fs.writeFileSync(proc, JSON.stringify({ args: ['echo', 'exec ran'], cwd: '/', user: { uid: 0, gid: 0 }, apparmorProfile: 'carton-test-exec' }));
    const r = lab.run('carton', ['exec', '--process', proc, id]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'exec ran\n');
    assert.ok(r.stderr.includes('carton-runtime: warning: process.apparmorProfile: AppArmor is not enabled on this host; profile "carton-test-exec" not applied\n'), r.stderr);
    assert.equal(lab.run('carton', ['delete', '--force', id]).status, 0);
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });
});

describe('linux.personality', () => {
  test('LINUX32: uname -m says i686 inside, /proc/self/personality is PER_LINUX32; the host is untouched', () => {
    const r = runIn('pers32', ['sh', '-c', 'uname -m; cat /proc/self/personality'], (s) => (s.linux!.personality = { domain: 'LINUX32' }));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'i686\n00000008\n');
    assert.deepEqual(r.leaks(), []);
    const plain = runIn('pers64', ['uname', '-m'], (s) => (s.linux!.personality = { domain: 'LINUX' }));
    assert.equal(plain.stdout, 'x86_64\n');
  });
});

describe('linux.timeOffsets', () => {
  test('with a time namespace: /proc/uptime (boottime) and the monotonic offset are shifted inside only', () => {
    const monotonic = 86400;
    const boottime = 10 * 86400;
    const hostBefore = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const r = runIn('timens', ['sh', '-c', 'cat /proc/uptime; cat /proc/self/timens_offsets'], (s) => {
      s.linux!.namespaces!.push({ type: 'time' });
      s.linux!.timeOffsets = { monotonic: { secs: monotonic, nanosecs: 0 }, boottime: { secs: boottime, nanosecs: 500 } };
    });
    const hostAfter = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    assert.equal(r.status, 0, r.stderr);
    const [uptimeLine, ...offsets] = r.stdout.trim().split('\n');
    const inside = Number(uptimeLine.split(' ')[0]);
    assert.ok(inside >= hostBefore + boottime && inside <= hostAfter + boottime + 1, `uptime inside ${inside}, host ${hostBefore}..${hostAfter}`);
    assert.deepEqual(offsets.map((l) => l.trim().split(/\s+/)), [['monotonic', String(monotonic), '0'], ['boottime', String(boottime), '500']]);
    // The host's own clocks did not move.
    assert.ok(hostAfter - hostBefore < 60);
    assert.deepEqual(fs.readFileSync('/proc/self/timens_offsets', 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).slice(1)), [['0', '0'], ['0', '0']]);
    assert.deepEqual(r.leaks(), []);
  });

  test('a time namespace without offsets starts at the host\'s clocks', () => {
    const r = runIn('timens-zero', ['cat', '/proc/self/timens_offsets'], (s) => s.linux!.namespaces!.push({ type: 'time' }));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).slice(1)), [['0', '0'], ['0', '0']]);
  });
});

describe('linux.intelRdt', () => {
  test('a clear "not supported" error from create and run, nothing left behind', () => {
    for (const verb of ['create', 'run']) {
      const id = lab.id(`rdt-${verb}`);
      const b = lab.bundle(id, ['true'], (s) => (s.linux!.intelRdt = { closID: 'carton-test', l3CacheSchema: 'L3:0=f', memBwSchema: 'MB:0=50' }));
      const r = lab.detached('carton', [verb, '-b', b, id]);
      assert.equal(r.status, 1, verb);
      assert.equal(r.stderr, 'carton-runtime: linux.intelRdt: not supported by carton-runtime\n');
      assert.deepEqual(lab.leaks('carton', id, b), []);
    }
  });
});
