import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySecurityOpts, expandEnv, parseEnvFile, parseMountFlag, parseNetwork, parseTmpfsFlag, parseVolumeFlag } from './run-options';
import { humanDuration, humanSize, parseBytes, parseCpus } from './units';
import { checkName, generateName, newContainerId } from './names';

test('-v forms: bind, named and anonymous volumes, modes', () => {
  assert.deepEqual(parseVolumeFlag('/h:/c:ro'), { type: 'bind', source: '/h', target: '/c', readonly: true, options: [], createSource: true });
  assert.equal(parseVolumeFlag('data:/c').type, 'volume');
  assert.deepEqual(parseVolumeFlag('/c'), { type: 'volume', source: '', target: '/c', readonly: false, options: [], createSource: true });
  assert.deepEqual(parseVolumeFlag('/h:/c:rw,rshared').options, ['rshared']);
  assert.throws(() => parseVolumeFlag('/h:c'), /mount path must be absolute/);
  assert.throws(() => parseVolumeFlag('/h:/c:bogus'), /invalid mode: bogus/);
  assert.throws(() => parseVolumeFlag('/h::/c'), /invalid volume specification/);
});

test('--mount and --tmpfs', () => {
  assert.deepEqual(parseMountFlag('type=bind,source=/a,target=/b,readonly', parseBytes), { type: 'bind', source: '/a', target: '/b', readonly: true, options: [], createSource: false });
  assert.deepEqual(parseMountFlag('type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770', parseBytes).options, ['size=64m', 'mode=1770']);
  assert.throws(() => parseMountFlag('type=bind,target=/b', parseBytes), /field Source must not be empty/);
  assert.throws(() => parseMountFlag('type=nfs,target=/b', parseBytes), /invalid mount type: nfs/);
  assert.throws(() => parseMountFlag('type=bind,src=/a,dst=/b,colour=red', parseBytes), /unexpected key 'colour'/);
  assert.deepEqual(parseTmpfsFlag('/run:rw,size=1m'), { type: 'tmpfs', source: '', target: '/run', readonly: false, options: ['size=1m'], createSource: false });
});

test('env from flags and files, bare names from the caller\'s environment', () => {
  assert.deepEqual(expandEnv(['A=1', 'B', 'C'], { B: 'two' }), ['A=1', 'B=two']);
  assert.deepEqual(parseEnvFile('# c\n\nX=1\nY\n  Z=a b\n', 'f', { Y: 'y' }), ['X=1', 'Y=y', 'Z=a b']);
  assert.throws(() => parseEnvFile('BAD KEY=1\n', 'f', {}), /contains whitespaces/);
});

test('security options and network modes', () => {
  assert.deepEqual(applySecurityOpts(['no-new-privileges']), { noNewPrivileges: true, seccomp: { kind: 'default' } });
  assert.deepEqual(applySecurityOpts(['no-new-privileges=true', 'seccomp=unconfined']), { noNewPrivileges: true, seccomp: { kind: 'unconfined' } });
  assert.deepEqual(applySecurityOpts(['seccomp=/p.json']).seccomp, { kind: 'file', path: '/p.json' });
  assert.throws(() => applySecurityOpts(['bogus']), /invalid --security-opt/);
  assert.equal(parseNetwork('none'), 'none');
  assert.equal(parseNetwork(undefined), 'default');
  assert.throws(() => parseNetwork('mynet'), /network mynet not found/);
});

test('units as Docker writes and reads them', () => {
  assert.equal(parseBytes('64m', '-m'), 64 * 1024 * 1024);
  assert.equal(parseBytes('1g', '-m'), 1024 ** 3);
  assert.equal(parseBytes('1.5GB', '-m'), 1.5 * 1024 ** 3);
  assert.equal(parseBytes('100', '-m'), 100);
  assert.throws(() => parseBytes('12q', '-m'), /invalid size: '12q'/);
  assert.equal(parseCpus('1.5', 2), 1.5e9);
  assert.throws(() => parseCpus('4', 2), /Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available/);
  assert.equal(humanSize(4261000), '4.26MB');
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999999), '1MB');
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(3000), '3 seconds');
  assert.equal(humanDuration(61000), 'About a minute');
  assert.equal(humanDuration(3 * 3600e3), '3 hours');
  assert.equal(humanDuration(15 * 86400e3), '2 weeks');
});

test('ids, generated names and name validation', () => {
  assert.match(newContainerId(), /^[0-9a-f]{64}$/);
  assert.notEqual(newContainerId(), newContainerId());
  assert.match(generateName(), /^[a-z]+_[a-z]+$/);
  const seen = new Set<string>();
  const first = generateName(() => false, () => 0);
  seen.add(first);
  assert.notEqual(generateName((n) => seen.has(n), () => 0), first);
  assert.equal(checkName('/web-1'), 'web-1');
  assert.throws(() => checkName('bad name'), /Invalid container name \(bad name\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed/);
});
