import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { dockerProfileToOci, safeDirInRootfs } from './host';

test('a Docker-format seccomp profile file becomes OCI linux.seccomp for this architecture', () => {
  const oci = dockerProfileToOci({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }, { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] }],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['arm_fadvise64_64'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm', 'arm64'] } },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  assert.deepEqual(oci, {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
    ],
  });
});

test('directories are made inside the rootfs only, never through a symlink', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-safedir-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  assert.equal(safeDirInRootfs(root, '/a/b', true), path.join(root, 'a', 'b'));
  assert.ok(fs.statSync(path.join(root, 'a', 'b')).isDirectory());
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-outside-'));
  t.after(() => fs.rmSync(outside, { recursive: true, force: true }));
  fs.symlinkSync(outside, path.join(root, 'escape'));
  assert.equal(safeDirInRootfs(root, '/escape/x', true), undefined);
  assert.equal(fs.existsSync(path.join(outside, 'x')), false);
  assert.equal(safeDirInRootfs(root, '/../etc', true), undefined);
  assert.equal(safeDirInRootfs(root, '/missing', false), undefined);
});
