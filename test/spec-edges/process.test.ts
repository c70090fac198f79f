/**
 * process.capabilities, process.noNewPrivileges and linux.maskedPaths / readonlyPaths (issue 3
 * §1), read back from inside real containers: /proc/self/status for the sets, the files and
 * directories themselves for the masks. Where runc is installed, it runs the same config and
 * must show the same sets (the kernel's execve rules decide permitted/effective: a root process
 * gets bounding ∪ inheritable, clamped to its permitted set under no_new_privs; a non-root one
 * gets its ambient set).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Spec } from '../../src/oci/spec';
import { Lab, RUNC_AVAILABLE, RuntimeName } from '../badinput/harness';

const lab = new Lab();
after(() => lab.cleanup());

/** Capability numbers (linux/capability.h) of the names used below. */
const CAP: Record<string, number> = { CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_FOWNER: 3, CAP_KILL: 5, CAP_SETUID: 7, CAP_NET_BIND_SERVICE: 10, CAP_SYS_ADMIN: 21 };
const mask = (names: string[]): string => names.reduce((m, n) => m | (1n << BigInt(CAP[n])), 0n).toString(16).padStart(16, '0');

const SETS = {
  bounding: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID'],
  permitted: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
  effective: ['CAP_CHOWN', 'CAP_KILL'],
  inheritable: ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID'],
  ambient: ['CAP_NET_BIND_SERVICE'],
};

function statusOf(runtime: RuntimeName, label: string, mutate: (s: Spec) => void): Record<string, string> {
  const id = lab.id(label, runtime);
  const b = lab.bundle(id, ['grep', '-E', '^(Cap|NoNewPrivs)', '/proc/self/status'], mutate);
  const r = lab.run(runtime, ['run', '-b', b, id]);
  assert.equal(r.status, 0, `${runtime}: ${r.stderr}`);
  if (runtime === 'carton') assert.deepEqual(lab.leaks(runtime, id, b), []);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(/:\s+/) as [string, string]));
}

describe('process.capabilities', () => {
  const cases: { uid: number; nnp: boolean; granted: string[]; why: string }[] = [
    { uid: 1000, nnp: true, granted: SETS.ambient, why: 'non-root: only the ambient set survives execve' },
    { uid: 0, nnp: false, granted: [...new Set([...SETS.bounding, ...SETS.inheritable])], why: 'root: the kernel grants bounding ∪ inheritable' },
    { uid: 0, nnp: true, granted: SETS.permitted, why: 'root under no_new_privs: never more than the permitted set asked' },
  ];
  for (const c of cases) {
    test(`five different sets, uid ${c.uid}, noNewPrivileges ${c.nnp}: bounding, inheritable, ambient as asked; permitted/effective: ${c.why}`, () => {
      const mutate = (s: Spec): void => {
        s.process!.user = { uid: c.uid, gid: c.uid };
        s.process!.noNewPrivileges = c.nnp;
        s.process!.capabilities = SETS as never;
      };
      const st = statusOf('carton', `caps-${c.uid}-${c.nnp}`, mutate);
      assert.equal(st.CapBnd, mask(SETS.bounding));
      assert.equal(st.CapInh, mask(SETS.inheritable));
      assert.equal(st.CapAmb, mask(SETS.ambient));
      assert.equal(st.CapPrm, mask(c.granted));
      assert.equal(st.CapEff, mask(c.granted));
      assert.equal(st.NoNewPrivs, c.nnp ? '1' : '0');
      if (RUNC_AVAILABLE) assert.deepEqual(statusOf('runc', `caps-${c.uid}-${c.nnp}-runc`, mutate), st, 'the same as runc');
    });
  }

  test('an empty capabilities object leaves nothing; CAP_SYS_ADMIN only where asked', () => {
    const none = statusOf('carton', 'caps-none', (s) => (s.process!.capabilities = {}));
    for (const k of ['CapBnd', 'CapInh', 'CapPrm', 'CapEff', 'CapAmb']) assert.equal(none[k], '0000000000000000', k);
    const admin = statusOf('carton', 'caps-admin', (s) => (s.process!.capabilities = { bounding: ['CAP_SYS_ADMIN'], permitted: ['CAP_SYS_ADMIN'], effective: ['CAP_SYS_ADMIN'] }));
    assert.equal(admin.CapEff, mask(['CAP_SYS_ADMIN']));
  });
});

describe('process.noNewPrivileges', () => {
  test('true sets no_new_privs, false leaves it clear', () => {
    assert.equal(statusOf('carton', 'nnp-on', (s) => (s.process!.noNewPrivileges = true)).NoNewPrivs, '1');
    assert.equal(statusOf('carton', 'nnp-off', (s) => (s.process!.noNewPrivileges = false)).NoNewPrivs, '0');
  });
});

describe('linux.maskedPaths and readonlyPaths', () => {
  test('a masked file reads empty, a masked directory lists nothing; read-only ones refuse writes; the rest stays writable', () => {
    const id = lab.id('masks');
    const b = lab.bundle(id, ['sh', '-c', [
      'echo "file=[$(cat /etc/carton-secret)]"',
      'echo "dir=[$(ls -A /srv/masked-dir)]"',
      'echo "write-masked-dir=$(touch /srv/masked-dir/x 2>/dev/null && echo ok || echo refused)"',
      'echo "ro-file=$( (echo changed > /etc/carton-ro) 2>/dev/null && echo ok || echo refused) [$(cat /etc/carton-ro)]"',
      'echo "ro-dir=$(touch /srv/ro-dir/new 2>/dev/null && echo ok || echo refused) [$(cat /srv/ro-dir/kept)]"',
      'echo "elsewhere=$(touch /srv/free 2>/dev/null && echo ok || echo refused)"',
    ].join('; ')], (s) => {
      s.root!.readonly = false;
      s.linux!.maskedPaths = ['/etc/carton-secret', '/srv/masked-dir', '/carton-test-does-not-exist'];
      s.linux!.readonlyPaths = ['/etc/carton-ro', '/srv/ro-dir'];
    });
    const rootfs = path.join(b, 'rootfs');
    fs.writeFileSync(path.join(rootfs, 'etc', 'carton-secret'), 'secret\n');
    fs.mkdirSync(path.join(rootfs, 'srv', 'masked-dir'), { recursive: true });
    fs.writeFileSync(path.join(rootfs, 'srv', 'masked-dir', 'hidden'), 'hidden\n');
    fs.writeFileSync(path.join(rootfs, 'etc', 'carton-ro'), 'original\n');
    fs.mkdirSync(path.join(rootfs, 'srv', 'ro-dir'));
    fs.writeFileSync(path.join(rootfs, 'srv', 'ro-dir', 'kept'), 'kept\n');
    const r = lab.run('carton', ['run', '-b', b, id]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'file=[]',
      'dir=[]',
      'write-masked-dir=refused',
      'ro-file=refused [original]',
      'ro-dir=refused [kept]',
      'elsewhere=ok',
    ]);
    // The host's files are untouched and nothing was created through the masks.
    assert.equal(fs.readFileSync(path.join(rootfs, 'etc', 'carton-secret'), 'utf8'), 'secret\n');
    assert.deepEqual(fs.readdirSync(path.join(rootfs, 'srv', 'masked-dir')), ['hidden']);
    assert.deepEqual(fs.readdirSync(path.join(rootfs, 'srv', 'ro-dir')), ['kept']);
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });
});
