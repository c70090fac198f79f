import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilityBit, capabilityMasks, capabilityName, CAP_LAST_KNOWN, unavailableCapabilities } from './capabilities';
import { rlimitResource, rlimitValue, resolveRlimits } from './rlimits';
import { RLIM_INFINITY } from './ops';

test('capability names and bits', () => {
  assert.equal(CAP_LAST_KNOWN, 40);
  assert.equal(capabilityBit('CAP_CHOWN'), 0);
  assert.equal(capabilityBit('CAP_NET_RAW'), 13);
  assert.equal(capabilityBit('CAP_SYS_ADMIN'), 21);
  assert.equal(capabilityBit('CAP_AUDIT_WRITE'), 29);
  assert.equal(capabilityBit('CAP_SETFCAP'), 31);
  assert.equal(capabilityBit('CAP_BPF'), 39);
  assert.equal(capabilityBit('CAP_CHECKPOINT_RESTORE'), 40);
  assert.equal(capabilityBit('CAP_FOO'), undefined);
  assert.equal(capabilityName(38), 'CAP_PERFMON');
});

test('capability masks leave out what the kernel lacks', () => {
  const caps = { bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_BPF'], effective: ['CAP_KILL'], ambient: [] };
  const m = capabilityMasks(caps, 40);
  assert.equal(m.bounding, (1n << 0n) | (1n << 5n) | (1n << 39n));
  assert.equal(m.effective, 1n << 5n);
  assert.equal(m.permitted, 0n);
  const old = capabilityMasks(caps, 37);
  assert.equal(old.bounding, (1n << 0n) | (1n << 5n));
  assert.deepEqual(unavailableCapabilities(caps, 37), ['CAP_BPF']);
  assert.deepEqual(capabilityMasks(undefined, 40), { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n });
});

test('rlimits: names, infinity and sources', () => {
  assert.equal(rlimitResource('RLIMIT_NOFILE'), 7);
  assert.equal(rlimitResource('RLIMIT_NPROC'), 6);
  assert.equal(rlimitResource('RLIMIT_RTTIME'), 15);
  assert.equal(rlimitResource('RLIMIT_FOO'), undefined);
  assert.equal(rlimitValue(1024), 1024n);
  assert.equal(rlimitValue(18446744073709551615), RLIM_INFINITY);
  assert.equal(rlimitValue(2 ** 60), 2n ** 60n);
  assert.deepEqual(resolveRlimits([{ type: 'RLIMIT_CORE', soft: 0, hard: 18446744073709551615 }]), [
    { resource: 4, soft: 0n, hard: RLIM_INFINITY, source: 'process.rlimits[0] (RLIMIT_CORE)' },
  ]);
});
