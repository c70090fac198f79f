import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateProcess, validateSpec } from './validate';
import { CartonError } from '../common/errors';

import { CONFIG_FIXTURES, dockerExecProcessTty } from '../plan/testdata/fixtures';

const fixtures = Object.keys(CONFIG_FIXTURES);

function base(): Record<string, any> {
  return {
    ociVersion: '1.0.2-dev',
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/', env: ['PATH=/bin'] },
    root: { path: 'rootfs' },
    hostname: 'h',
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }, { type: 'network' }] },
  };
}

function rejects(mutate: (s: Record<string, any>) => void, message: string | RegExp, code = 'EINVAL_CONFIG'): void {
  const s = base();
  mutate(s);
  assert.throws(() => validateSpec(s), (e: unknown) => {
    assert.ok(e instanceof CartonError, `not a CartonError: ${e}`);
    assert.equal(e.code, code);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

test('reference fixtures validate', () => {
  assert.ok(fixtures.length >= 4);
  for (const f of fixtures) {
    const spec = CONFIG_FIXTURES[f]();
    assert.equal(validateSpec(spec), spec, f);
  }
});

test('a minimal config validates', () => {
  assert.doesNotThrow(() => validateSpec(base()));
});

test('errors name the field', () => {
  rejects((s) => { s.linux.namespaces[2].type = 'foo'; }, 'linux.namespaces[2].type: unknown namespace type "foo"');
  rejects((s) => { s.linux.namespaces.push({ type: 'pid' }); }, 'linux.namespaces[5].type: duplicate namespace type "pid"');
  rejects((s) => { s.linux.namespaces[0].path = 'rel/ns'; }, 'linux.namespaces[0].path: must be an absolute path');
  rejects((s) => { s.mounts.push({ destination: 'tmp', type: 'tmpfs' }); }, /^mounts\[1\]\.destination: must be an absolute path/);
  rejects((s) => { s.process.args = []; }, 'process.args: must not be empty');
  rejects((s) => { delete s.process.args; }, 'process.args: must not be empty');
  rejects((s) => { s.process.cwd = 'x'; }, /^process\.cwd: must be an absolute path/);
  rejects((s) => { s.process.env = ['NOEQUALS']; }, 'process.env[0]: expected KEY=VALUE, got "NOEQUALS"');
  rejects((s) => { s.process.user.uid = -1; }, /^process\.user\.uid: must be between/);
  rejects((s) => { s.process.user.gid = 1.5; }, 'process.user.gid: must be an integer');
  rejects((s) => { s.process.user.umask = 0o1000; }, /^process\.user\.umask: /);
  rejects((s) => { delete s.process; }, 'process: required');
  rejects((s) => { delete s.root; }, 'root: required');
  rejects((s) => { s.ociVersion = '2.0.0'; }, /^ociVersion: unsupported version "2\.0\.0"/);
  rejects((s) => { s.ociVersion = 'latest'; }, /^ociVersion: "latest" is not a version/);
  rejects((s) => { delete s.ociVersion; }, 'ociVersion: required');
  rejects((s) => { s.process.terminal = 'yes'; }, 'process.terminal: must be true or false');
  rejects((s) => { s.process.consoleSize = { height: 70000, width: 80 }; }, /^process\.consoleSize\.height: must be between 0 and 65535/);
  rejects((s) => { s.process.oomScoreAdj = -1001; }, /^process\.oomScoreAdj: /);
  rejects((s) => { s.hooks = { prestart: [{ path: 'hook' }] }; }, /^hooks\.prestart\[0\]\.path: must be an absolute path/);
  rejects((s) => { s.hooks = { poststop: [{ path: '/h', timeout: 0 }] }; }, /^hooks\.poststop\[0\]\.timeout: /);
  rejects((s) => { s.annotations = { a: 1 }; }, 'annotations["a"]: must be a string');
});

test('capabilities and rlimits', () => {
  rejects((s) => { s.process.capabilities = { bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_SETUID', 'CAP_FOO'] }; },
    'process.capabilities.bounding[3]: unknown capability "CAP_FOO"');
  rejects((s) => { s.process.capabilities = { ambient: ['cap_chown'] }; }, 'process.capabilities.ambient[0]: unknown capability "cap_chown"');
  rejects((s) => { s.process.rlimits = [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }]; }, 'process.rlimits[0].type: unknown rlimit "RLIMIT_FOO"');
  rejects((s) => { s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 2, hard: 1 }]; }, /^process\.rlimits\[0\]: RLIMIT_NOFILE: soft limit 2 is greater than hard limit 1/);
  rejects((s) => {
    s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }, { type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }];
  }, 'process.rlimits[1].type: duplicate rlimit "RLIMIT_NOFILE"');
  rejects((s) => { s.process.rlimits = [{ type: 'RLIMIT_CORE', soft: -1, hard: 1 }]; }, /^process\.rlimits\[0\]\.soft: /);
  const s = base();
  s.process.rlimits = [{ type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 }];
  assert.doesNotThrow(() => validateSpec(s));
});

test('hostname and sysctls need their namespaces', () => {
  rejects((s) => { s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'uts'); }, /^hostname: cannot be set without a uts namespace/);
  rejects((s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'network');
    s.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
  }, /^linux\.sysctl\["net\.ipv4\.ip_forward"\]: not allowed in the host's network namespace/);
  rejects((s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'ipc');
    s.linux.sysctl = { 'kernel.shmmax': '1' };
  }, /^linux\.sysctl\["kernel\.shmmax"\]: not allowed in the host's ipc namespace/);
  rejects((s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'ipc');
    s.linux.sysctl = { 'fs.mqueue.msg_max': '1' };
  }, /^linux\.sysctl\["fs\.mqueue\.msg_max"\]: not allowed in the host's ipc namespace/);
  rejects((s) => { s.linux.sysctl = { 'kernel.hostname': 'x' }; }, /conflicts with the "hostname" field/);
  rejects((s) => {
    delete s.hostname;
    s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'uts');
    s.linux.sysctl = { 'kernel.domainname': 'x' };
  }, /^linux\.sysctl\["kernel\.domainname"\]: not allowed in the host's uts namespace/);
  rejects((s) => { s.linux.sysctl = { 'vm.swappiness': '1' }; }, /^linux\.sysctl\["vm\.swappiness"\]: not isolated by any namespace/);
  rejects((s) => { s.linux.sysctl = { 'net.ipv4.ip_forward': 1 }; }, /^linux\.sysctl\["net\.ipv4\.ip_forward"\]: must be a string/);
  const s = base();
  s.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'net/ipv4/conf/all/forwarding': '1', 'kernel.msgmax': '1', 'kernel.domainname': 'd' };
  assert.doesNotThrow(() => validateSpec(s));
});

test('user namespace mappings', () => {
  const withUser = (s: Record<string, any>) => {
    s.linux.namespaces.push({ type: 'user' });
    s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };
  const ok = base();
  withUser(ok);
  assert.doesNotThrow(() => validateSpec(ok));
  rejects((s) => { withUser(s); delete s.linux.uidMappings; }, /^linux\.uidMappings: required when a new user namespace/);
  rejects((s) => { s.linux.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]; }, /^linux\.uidMappings: set, but there is no user namespace/);
  rejects((s) => { withUser(s); s.linux.uidMappings.push({ containerID: 100, hostID: 500000, size: 10 }); },
    'linux.uidMappings[1]: container ids overlap with linux.uidMappings[0]');
  rejects((s) => { withUser(s); s.linux.gidMappings.push({ containerID: 70000, hostID: 100010, size: 10 }); },
    'linux.gidMappings[1]: host ids overlap with linux.gidMappings[0]');
  rejects((s) => { withUser(s); s.linux.uidMappings[0].size = 0; }, /^linux\.uidMappings\[0\]\.size: must be greater than zero/);
  rejects((s) => { withUser(s); s.linux.uidMappings[0].hostID = 4294967295; }, /^linux\.uidMappings\[0\]: host ids .* do not fit in 32 bits/);
  rejects((s) => { withUser(s); s.linux.uidMappings[0].containerID = 1; }, /^linux\.uidMappings: container uid 0 must be mapped/);
  rejects((s) => { withUser(s); s.process.user.uid = 70000; }, 'process.user.uid: 70000 is not mapped by linux.uidMappings');
  rejects((s) => { withUser(s); s.process.user.additionalGids = [5, 99999]; },
    'process.user.additionalGids[1]: 99999 is not mapped by linux.gidMappings');
  const joined = base();
  joined.linux.namespaces.push({ type: 'user', path: '/proc/1/ns/user' });
  assert.doesNotThrow(() => validateSpec(joined));
});

test('devices, propagation, paths, personality, time, intelRdt', () => {
  rejects((s) => { s.linux.devices = [{ path: '/dev/fuse', type: 'x', major: 10, minor: 229 }]; }, /^linux\.devices\[0\]\.type: unknown device type "x"/);
  rejects((s) => { s.linux.devices = [{ path: '/dev/fuse', type: 'c' }]; }, 'linux.devices[0].major: required for device type "c"');
  rejects((s) => { s.linux.devices = [{ path: '/tmp/fuse', type: 'c', major: 1, minor: 1 }]; }, /^linux\.devices\[0\]\.path: must be under \/dev/);
  rejects((s) => { s.linux.devices = [{ path: '/dev/a', type: 'p' }, { path: '/dev/a', type: 'p' }]; }, /^linux\.devices\[1\]\.path: duplicate device/);
  rejects((s) => { s.linux.rootfsPropagation = 'sideways'; }, /^linux\.rootfsPropagation: unknown propagation "sideways"/);
  rejects((s) => { s.linux.maskedPaths = ['/ok', 'rel']; }, /^linux\.maskedPaths\[1\]: must be an absolute path/);
  rejects((s) => { s.linux.personality = { domain: 'BSD' }; }, /^linux\.personality\.domain: unknown domain "BSD"/);
  rejects((s) => { s.linux.timeOffsets = { monotonic: { secs: 1 } }; }, /^linux\.timeOffsets: needs a time namespace/);
  rejects((s) => {
    s.linux.namespaces.push({ type: 'time' });
    s.linux.timeOffsets = { realtime: { secs: 1 } };
  }, /^linux\.timeOffsets\.realtime: unknown clock/);
  rejects((s) => {
    s.linux.namespaces.push({ type: 'time', path: '/proc/1/ns/time' });
    s.linux.timeOffsets = { monotonic: { secs: 1 } };
  }, /^linux\.timeOffsets: cannot be set when joining/);
  rejects((s) => { s.linux.intelRdt = { closID: 'x' }; }, 'linux.intelRdt: not supported by carton-runtime', 'EUNSUPPORTED');
  rejects((s) => { s.mounts[0].uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]; }, /^mounts\[0\]\.uidMappings: idmapped/, 'EUNSUPPORTED');
  rejects((s) => { s.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 }; }, /^process\.ioPriority: /, 'EUNSUPPORTED');
  const s = base();
  s.linux.personality = { domain: 'LINUX32' };
  s.linux.namespaces.push({ type: 'time' });
  s.linux.timeOffsets = { monotonic: { secs: 10, nanosecs: 5 }, boottime: { secs: -3 } };
  s.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }];
  assert.doesNotThrow(() => validateSpec(s));
});

test('non-objects are refused with the field', () => {
  rejects((s) => { s.mounts = {}; }, 'mounts: must be an array');
  rejects((s) => { s.linux = []; }, 'linux: must be an object');
  assert.throws(() => validateSpec(null), /config\.json: must be a JSON object/);
  assert.throws(() => validateSpec([]), /config\.json: must be a JSON object/);
});

test('an exec process file validates on its own', () => {
  const proc = dockerExecProcessTty() as Record<string, unknown>;
  assert.equal(validateProcess(proc), proc);
  assert.throws(() => validateProcess({ ...proc, args: [] }, 'process.json'), /^CartonError: process\.json\.args: must not be empty$/);
  assert.throws(() => validateProcess({ ...proc, capabilities: { bounding: ['CAP_NOPE'] } }),
    /process\.capabilities\.bounding\[0\]: unknown capability "CAP_NOPE"/);
  assert.throws(() => validateProcess('x', 'process.json'), /process\.json: must be a JSON object/);
});

test('linux.resources: values of the wrong type are refused by name, before any cgroup is touched', () => {
  const withResources = (resources: unknown) =>
    ({ ociVersion: '1.0.2', process: { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } }, root: { path: 'rootfs' }, linux: { resources } });
  assert.throws(() => validateSpec(withResources({ memory: { limit: 'abc' } })), /linux\.resources\.memory\.limit: expected an integer, got "abc"/);
  assert.throws(() => validateSpec(withResources({ pids: { limit: true } })), /linux\.resources\.pids\.limit: expected an integer, got true/);
  assert.throws(() => validateSpec(withResources({ cpu: { shares: -2 } })), /linux\.resources\.cpu\.shares: expected a non-negative integer, got -2/);
  assert.throws(() => validateSpec(withResources({ devices: [{ allow: 'yes' }] })), /linux\.resources\.devices\[0\]\.allow: expected true or false/);
  assert.throws(() => validateSpec(withResources([])), /linux\.resources: /);
  // What engines send passes: nulls, -1 for unlimited, unknown fields.
  validateSpec(withResources({ memory: { limit: -1, swap: null }, pids: { limit: 0 }, devices: [{ allow: false, access: 'rwm' }], unknown: { x: 1 } }));
});
