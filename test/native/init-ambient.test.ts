/**
 * Ambient capabilities the kernel cannot raise (not also permitted and inheritable) are
 * skipped, as runc does with its own `runc spec` (which lists ambient caps and no
 * inheritable ones): the container starts, with only the raisable ones ambient.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { OpCode } from '../../src/plan/ops';
import { containerOps, makeRootfs, runOps } from './helpers';

const c = makeRootfs();
after(() => c.cleanup());

const KILL = 5n, NET_BIND = 10n, AUDIT_WRITE = 29n;
const caps = (1n << KILL) | (1n << NET_BIND) | (1n << AUDIT_WRITE);

test('ambient caps without inheritable ones are skipped, not an error (runc spec default)', async () => {
  const r = await runOps(containerOps(c.rootfs, {
    args: ['grep', '^Cap', '/proc/self/status'],
    process: [{ op: OpCode.CAPS, source: 'process.capabilities', bounding: caps, effective: caps, permitted: caps, inheritable: 0n, ambient: caps }],
  }));
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(r.exit, { code: 0 }, r.err);
  assert.match(r.out, /CapPrm:\t0000000020000420/);
  assert.match(r.out, /CapAmb:\t0000000000000000/);
});

test('the raisable ones are still raised when some are not', async () => {
  const r = await runOps(containerOps(c.rootfs, {
    args: ['grep', '^CapAmb', '/proc/self/status'],
    process: [{ op: OpCode.CAPS, source: 'process.capabilities', bounding: caps, effective: caps, permitted: caps, inheritable: 1n << NET_BIND, ambient: caps }],
  }));
  assert.equal(r.error, undefined, String(r.error));
  assert.deepEqual(r.exit, { code: 0 }, r.err);
  assert.match(r.out, /CapAmb:\t0000000000000400/);
});
