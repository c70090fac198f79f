import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkSubIdCoverage, chooseIdMapWriters, formatIdMap, isSelfMap, parseSubIds, writeIdMaps } from './idmap';
import { CartonError } from '../common/errors';

const m = (containerID: number, hostID: number, size: number) => ({ containerID, hostID, size });

test('formatIdMap: one "container host size" line per mapping', () => {
  assert.equal(formatIdMap([m(0, 1000, 1), m(1, 100000, 65536)]), '0 1000 1\n1 100000 65536\n');
  assert.equal(formatIdMap(undefined), '');
});

test('isSelfMap: exactly one mapping of size 1 onto the id', () => {
  assert.ok(isSelfMap([m(0, 1000, 1)], 1000));
  assert.ok(!isSelfMap([m(0, 1000, 2)], 1000));
  assert.ok(!isSelfMap([m(0, 1001, 1)], 1000));
  assert.ok(!isSelfMap([m(0, 1000, 1), m(1, 100000, 10)], 1000));
});

test('chooseIdMapWriters: root direct, setgroups left alone', () => {
  assert.deepEqual(chooseIdMapWriters({ euid: 0, egid: 0 }, [m(0, 100000, 65536)], [m(0, 100000, 65536)]), {
    uid: 'direct', gid: 'direct', denySetgroups: false,
  });
});

test('chooseIdMapWriters: a user maps itself directly, with setgroups denied', () => {
  assert.deepEqual(chooseIdMapWriters({ euid: 1001, egid: 1002 }, [m(0, 1001, 1)], [m(0, 1002, 1)]), {
    uid: 'direct', gid: 'direct', denySetgroups: true,
  });
});

test('chooseIdMapWriters: more than its own ids goes through newuidmap/newgidmap', () => {
  const w = chooseIdMapWriters({ euid: 1001, egid: 1001 }, [m(0, 1001, 1), m(1, 200000, 65536)], [m(0, 1001, 1), m(1, 200000, 65536)]);
  assert.deepEqual(w, { uid: 'helper', gid: 'helper', denySetgroups: false });
  const own = chooseIdMapWriters({ euid: 1001, egid: 1001 }, [m(0, 1001, 1)], [m(0, 1001, 1), m(1, 200000, 10)]);
  assert.deepEqual(own, { uid: 'direct', gid: 'helper', denySetgroups: false });
});

test('parseSubIds: by name or id, comments and junk skipped', () => {
  const text = '# c\nalice:100000:65536\n1001:300000:10\nbob:200000:65536\nalice:bad:1\nalice:5:0\n\n';
  assert.deepEqual(parseSubIds(text, 'alice', 1001), [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }]);
  assert.deepEqual(parseSubIds(text, 'carol', 7), []);
});

test('checkSubIdCoverage: own id, granted ranges, adjacent ranges', () => {
  const r = [{ start: 100000, count: 10 }, { start: 100010, count: 10 }];
  checkSubIdCoverage('uid', [m(0, 1001, 1), m(1, 100000, 20)], r, 1001, 'alice');
  checkSubIdCoverage('uid', [m(0, 100000, 10)], r, 1001, 'alice');
  checkSubIdCoverage('uid', [m(0, 100005, 6), m(6, 1001, 1)], r, 1001, 'alice');
});

test('checkSubIdCoverage: a range outside /etc/subuid names the field and the grant', () => {
  assert.throws(
    () => checkSubIdCoverage('uid', [m(0, 1001, 1), m(1, 100000, 65536)], [{ start: 100000, count: 100 }], 1001, 'alice'),
    (e: CartonError) =>
      e.code === 'EINVAL_CONFIG' &&
      e.message.startsWith('linux.uidMappings[1]: host uids 100000-165535 are not yours to map') &&
      e.message.includes('/etc/subuid grants it (100000-100099)') &&
      !!e.hint?.includes('alice:START:COUNT'),
  );
  assert.throws(() => checkSubIdCoverage('gid', [m(0, 5, 1)], [], 1001, 'alice'), /^CartonError: linux\.gidMappings\[0\]: host gids 5-5 .*\(none\)/);
});

test('writeIdMaps: helpers get "pid c h s …", failures name the field', () => {
  const calls: string[][] = [];
  const ok = (file: string, args: string[]) => {
    calls.push([file.replace(/.*\//, ''), ...args]);
    return { status: 0, stderr: '' };
  };
  writeIdMaps(4242, [m(0, 1001, 1), m(1, 200000, 65536)], [m(0, 1001, 1), m(1, 200000, 65536)], { uid: 'helper', gid: 'helper', denySetgroups: false }, ok);
  assert.deepEqual(calls, [
    ['newuidmap', '4242', '0', '1001', '1', '1', '200000', '65536'],
    ['newgidmap', '4242', '0', '1001', '1', '1', '200000', '65536'],
  ]);
  const bad = () => ({ status: 1, stderr: 'newuidmap: uid range [1-65537) -> [200000-265536) not allowed\n' });
  assert.throws(
    () => writeIdMaps(4242, [m(0, 200000, 65536)], [], { uid: 'helper', gid: 'direct', denySetgroups: false }, bad),
    /^CartonError: linux\.uidMappings: .*newuidmap 4242 0 200000 65536: newuidmap: uid range .* not allowed$/,
  );
});

test('writeIdMaps: a direct write to a process that is gone names the file', () => {
  assert.throws(
    () => writeIdMaps(2 ** 22 + 7, [m(0, 1001, 1)], [m(0, 1001, 1)], { uid: 'direct', gid: 'direct', denySetgroups: true }),
    /^CartonError: linux\.uidMappings: write \/proc\/4194311\/uid_map: /,
  );
});
