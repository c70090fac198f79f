import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KNOWN_MOUNT_OPTIONS, msToMountAttr, parseMountOptions, propagationFlags, MS_EXTRA } from './mount-options';
import { MOUNT_ATTR, MS } from './ops';

test('flag options set and clear in order', () => {
  const table: [string[], number][] = [
    [['ro'], MS.RDONLY],
    [['ro', 'rw'], 0],
    [['rw', 'ro'], MS.RDONLY],
    [['nosuid', 'suid'], 0],
    [['nodev'], MS.NODEV],
    [['nodev', 'dev'], 0],
    [['noexec'], MS.NOEXEC],
    [['noexec', 'exec'], 0],
    [['sync'], MS.SYNCHRONOUS],
    [['sync', 'async'], 0],
    [['dirsync'], MS.DIRSYNC],
    [['remount'], MS.REMOUNT],
    [['mand'], MS.MANDLOCK],
    [['mand', 'nomand'], 0],
    [['noatime'], MS.NOATIME],
    [['noatime', 'atime'], 0],
    [['nodiratime'], MS.NODIRATIME],
    [['nodiratime', 'diratime'], 0],
    [['relatime'], MS.RELATIME],
    [['relatime', 'norelatime'], 0],
    [['strictatime'], MS.STRICTATIME],
    [['strictatime', 'nostrictatime'], 0],
    [['lazytime'], MS.LAZYTIME],
    [['iversion'], MS_EXTRA.I_VERSION],
    [['silent', 'loud'], 0],
    [['nosymfollow'], MS.NOSYMFOLLOW],
    [['bind'], MS.BIND],
    [['rbind'], MS.BIND | MS.REC],
    [['defaults'], 0],
    [['nosuid', 'noexec', 'nodev', 'ro'], MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY],
  ];
  for (const [opts, flags] of table) {
    const p = parseMountOptions(opts);
    assert.equal(p.flags, flags, opts.join(','));
    assert.equal(p.data, '', opts.join(','));
  }
  assert.equal(parseMountOptions(['rw']).cleared, MS.RDONLY);
});

test('propagation options are kept apart, in order', () => {
  const p = parseMountOptions(['rbind', 'rprivate', 'shared', 'rslave', 'unbindable', 'runbindable', 'private', 'slave', 'rshared']);
  assert.equal(p.flags, MS.BIND | MS.REC);
  assert.deepEqual(p.propagation, [
    MS.PRIVATE | MS.REC, MS.SHARED, MS.SLAVE | MS.REC, MS.UNBINDABLE, MS.UNBINDABLE | MS.REC,
    MS.PRIVATE, MS.SLAVE, MS.SHARED | MS.REC,
  ]);
  assert.equal(propagationFlags('rslave'), MS.SLAVE | MS.REC);
  assert.equal(propagationFlags('bogus'), undefined);
});

test('recursive attributes become one mount_setattr', () => {
  assert.equal(parseMountOptions(['ro']).recursiveAttr, undefined);
  assert.deepEqual(parseMountOptions(['rro']).recursiveAttr, { set: MOUNT_ATTR.RDONLY, clear: 0 });
  assert.deepEqual(parseMountOptions(['rro', 'rrw']).recursiveAttr, { set: 0, clear: MOUNT_ATTR.RDONLY });
  assert.deepEqual(parseMountOptions(['rnosuid', 'rnodev', 'rnoexec']).recursiveAttr,
    { set: MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC, clear: 0 });
  assert.deepEqual(parseMountOptions(['rsuid', 'rdev', 'rexec', 'rdiratime', 'rsymfollow']).recursiveAttr,
    { set: 0, clear: MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NODIRATIME | MOUNT_ATTR.NOSYMFOLLOW });
  assert.deepEqual(parseMountOptions(['rnoatime']).recursiveAttr, { set: MOUNT_ATTR.NOATIME, clear: MOUNT_ATTR.ATIME_MASK });
  assert.deepEqual(parseMountOptions(['rstrictatime']).recursiveAttr, { set: MOUNT_ATTR.STRICTATIME, clear: MOUNT_ATTR.ATIME_MASK });
  assert.deepEqual(parseMountOptions(['rnoatime', 'ratime']).recursiveAttr, { set: MOUNT_ATTR.RELATIME, clear: MOUNT_ATTR.ATIME_MASK });
  assert.deepEqual(parseMountOptions(['rrelatime']).recursiveAttr, { set: MOUNT_ATTR.RELATIME, clear: MOUNT_ATTR.ATIME_MASK });
  assert.deepEqual(parseMountOptions(['rnodiratime', 'rnosymfollow']).recursiveAttr,
    { set: MOUNT_ATTR.NODIRATIME | MOUNT_ATTR.NOSYMFOLLOW, clear: 0 });
  assert.equal(parseMountOptions(['rro', 'bind']).flags, MS.BIND);
});

test('unknown options go to data; copy-up ignored; idmap unsupported', () => {
  const p = parseMountOptions(['nosuid', 'mode=755', 'size=65536k', 'newinstance', 'tmpcopyup', 'idmap']);
  assert.equal(p.flags, MS.NOSUID);
  assert.equal(p.data, 'mode=755,size=65536k,newinstance');
  assert.deepEqual(p.ignored, ['tmpcopyup']);
  assert.deepEqual(p.unsupported, ['idmap']);
  assert.equal(parseMountOptions(undefined).data, '');
});

test('MS flags map to mount_setattr attributes', () => {
  assert.deepEqual(msToMountAttr(MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC),
    { set: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC, clear: 0 });
  assert.deepEqual(msToMountAttr(MS.NOATIME), { set: MOUNT_ATTR.NOATIME, clear: MOUNT_ATTR.ATIME_MASK });
  assert.deepEqual(msToMountAttr(MS.RELATIME), { set: 0, clear: MOUNT_ATTR.ATIME_MASK });
  assert.deepEqual(msToMountAttr(MS.BIND), { set: 0, clear: 0 });
});

test('KNOWN_MOUNT_OPTIONS: exactly the names that parse without becoming data', () => {
  assert.ok(KNOWN_MOUNT_OPTIONS.length > 50);
  for (const o of KNOWN_MOUNT_OPTIONS) {
    const p = parseMountOptions([o]);
    assert.equal(p.data, '', o);
    assert.deepEqual(p.unsupported, [], o);
  }
  for (const o of ['idmap', 'ridmap', 'mode=755', 'newinstance']) assert.ok(!KNOWN_MOUNT_OPTIONS.includes(o), o);
  assert.deepEqual([...KNOWN_MOUNT_OPTIONS], [...KNOWN_MOUNT_OPTIONS].sort());
});
