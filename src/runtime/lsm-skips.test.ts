import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lsmSkipWarnings } from './lsm-skips';

const none = { apparmor: false, selinux: false };

test('nothing asked, nothing said', () => {
  assert.deepEqual(lsmSkipWarnings({ process: {}, linux: {} }, none), []);
  assert.deepEqual(lsmSkipWarnings({}, none), []);
});

test('apparmorProfile on a host without AppArmor: one warning naming the field and the profile', () => {
  assert.deepEqual(lsmSkipWarnings({ process: { apparmorProfile: 'docker-default' } }, none), [
    'process.apparmorProfile: AppArmor is not enabled on this host; profile "docker-default" not applied',
  ]);
});

test('apparmorProfile on an AppArmor host is applied, not warned about', () => {
  assert.deepEqual(lsmSkipWarnings({ process: { apparmorProfile: 'docker-default' } }, { apparmor: true, selinux: false }), []);
});

test('selinuxLabel and mountLabel are never applied: the reason depends on the host', () => {
  const cfg = { process: { selinuxLabel: 'system_u:system_r:container_t:s0' }, linux: { mountLabel: 'system_u:object_r:container_file_t:s0' } };
  assert.deepEqual(lsmSkipWarnings(cfg, none), [
    'process.selinuxLabel: SELinux is not enabled on this host; label "system_u:system_r:container_t:s0" not applied',
    'linux.mountLabel: SELinux is not enabled on this host; label "system_u:object_r:container_file_t:s0" not applied to the container\'s mounts',
  ]);
  const onSelinux = lsmSkipWarnings(cfg, { apparmor: false, selinux: true });
  assert.equal(onSelinux.length, 2);
  for (const w of onSelinux) assert.match(w, /carton-runtime does not support SELinux/);
});
