/**
 * `carton-runtime features` (issue 3 §1): the runtime-spec features document, in its shape,
 * and listing exactly what this runtime supports: every listed value is accepted in a real
 * container, and what is accepted is listed. runc 1.1.5's document is the shape reference.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import type { Spec } from '../../src/oci/spec';
import { parseMountOptions } from '../../src/plan/mount-options';
import { Lab } from '../badinput/harness';

const lab = new Lab();
after(() => lab.cleanup());

interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean };
    seccomp: { enabled: boolean; actions: string[]; operators: string[]; archs: string[]; knownFlags: string[]; supportedFlags: string[] };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
    intelRdt: { enabled: boolean };
    mountExtensions: { idmap: { enabled: boolean } };
  };
  annotations: Record<string, string>;
}

const res = lab.run('carton', ['features']);
const f = JSON.parse(res.stdout) as Features;

/** Run `args` in a busybox container with `mutate`; returns stdout, asserting success and no leftovers. */
function runIn(label: string, args: string[], mutate: (s: Spec) => void): string {
  const id = lab.id(label);
  const b = lab.bundle(id, args, mutate);
  const r = lab.run('carton', ['run', '-b', b, id]);
  assert.equal(r.status, 0, `${label}: ${r.stderr}`);
  assert.deepEqual(lab.leaks('carton', id, b), []);
  return r.stdout;
}

describe('features', () => {
  test('is one JSON document of the spec\'s shape, on stdout, exit 0', () => {
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stderr, '');
    assert.deepEqual(Object.keys(f).sort(), ['annotations', 'hooks', 'linux', 'mountOptions', 'ociVersionMax', 'ociVersionMin']);
    assert.deepEqual(Object.keys(f.linux).sort(), ['apparmor', 'capabilities', 'cgroup', 'intelRdt', 'mountExtensions', 'namespaces', 'seccomp', 'selinux']);
    for (const key of ['actions', 'operators', 'archs', 'knownFlags', 'supportedFlags'] as const) {
      assert.ok(Array.isArray(f.linux.seccomp[key]) && f.linux.seccomp[key].every((s) => typeof s === 'string'), key);
    }
  });

  test('ociVersionMin/Max: 1.0.0 up to the spec version --version reports', () => {
    assert.equal(f.ociVersionMin, '1.0.0');
    const spec = /spec: (\S+)/.exec(lab.run('carton', ['--version']).stdout)![1];
    assert.equal(f.ociVersionMax, spec);
  });

  test('hooks: all six kinds, in lifecycle order', () => {
    assert.deepEqual(f.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  });

  test('every listed namespace works, all at once', () => {
    const all = f.linux.namespaces;
    assert.deepEqual([...all].sort(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts']);
    const out = runIn('ns-all', ['sh', '-c', 'for n in cgroup ipc mnt net pid time user uts; do readlink /proc/self/ns/$n; done'], (s) => {
      s.linux!.namespaces = all.map((type) => ({ type })) as never;
      s.linux!.uidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
    });
    const inside = out.trim().split('\n');
    const outside = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'].map((n) => spawnSync('readlink', [`/proc/self/ns/${n}`], { encoding: 'utf8' }).stdout.trim());
    assert.equal(inside.length, 8);
    inside.forEach((ns, i) => assert.notEqual(ns, outside[i], `${ns} is the host's`));
  });

  test('capabilities: every name the runtime accepts (CAP_CHOWN … CAP_CHECKPOINT_RESTORE), each accepted in a bounding set', () => {
    assert.ok(f.linux.capabilities.length >= 41, `${f.linux.capabilities.length} capabilities`);
    assert.equal(f.linux.capabilities[0], 'CAP_CHOWN');
    assert.ok(f.linux.capabilities.includes('CAP_CHECKPOINT_RESTORE'));
    const out = runIn('caps-all', ['grep', 'CapBnd', '/proc/self/status'], (s) => {
      s.process!.capabilities = { bounding: f.linux.capabilities };
    });
    const lastCap = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    // Every capability the kernel has, less what the runtime itself lacks (no CAP_SYS_RESOURCE here).
    const hostBounding = BigInt(`0x${/^CapBnd:\s+(\S+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
    assert.equal(BigInt(`0x${out.trim().split(/\s+/)[1]}`), ((1n << BigInt(lastCap + 1)) - 1n) & hostBounding);
  });

  test('cgroup: v1 and v2 (this host is hybrid), no systemd driver — and --systemd-cgroup is refused to match', () => {
    assert.deepEqual(f.linux.cgroup, { v1: true, v2: true, systemd: false, systemdUser: false });
    assert.equal(lab.run('carton', ['--systemd-cgroup', 'list']).status, 1);
  });

  test('seccomp: every listed architecture, operator and supported flag is accepted in one profile, and it filters', () => {
    const s = f.linux.seccomp;
    assert.equal(s.enabled, true);
    for (const a of ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']) assert.ok(s.archs.includes(a), a);
    assert.deepEqual([...s.operators].sort(), ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE']);
    // WAIT_KILLABLE_RECV only goes with a NOTIFY rule (the kernel refuses it otherwise).
    const flags = s.supportedFlags.filter((x) => x !== 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV');
    const out = runIn('sc-all', ['sh', '-c', 'mkdir /tmp/refused 2>/dev/null; echo mkdir=$?'], (spec) => {
      spec.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: s.archs as never,
        flags: flags as never,
        syscalls: [
          // One rule per operator on syscalls busybox sh does not make here.
          ...s.operators.map((op) => ({ names: ['acct'], action: 'SCMP_ACT_ERRNO' as const, args: [{ index: 0, value: 1, valueTwo: 1, op: op as never }] })),
          { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' as const, errnoRet: 1 },
        ],
      } as never;
    });
    assert.equal(out, 'mkdir=1\n');
  });

  test('seccomp: every listed action but NOTIFY (needs a listener) is accepted by the kernel in one filter (what each does: seccomp.test.ts)', () => {
    const actions = f.linux.seccomp.actions.filter((a) => a !== 'SCMP_ACT_NOTIFY' && a !== 'SCMP_ACT_ALLOW');
    assert.ok(f.linux.seccomp.actions.includes('SCMP_ACT_NOTIFY'));
    // Unused syscalls, one per action; ALLOW as the default.
    const victims = ['swapon', 'swapoff', 'acct', 'reboot', 'kexec_load', 'init_module', 'delete_module', 'pivot_root', 'syslog', 'vhangup'];
    const out = runIn('sc-actions', ['sh', '-c', 'echo ok'], (spec) => {
      spec.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: actions.map((action, i) => ({ names: [victims[i]], action: action as never })),
      };
    });
    assert.equal(out, 'ok\n');
  });

  test('mountOptions: each listed option is one the runtime knows (no fs data), and each it knows is listed', () => {
    const known = (o: string): boolean => {
      const p = parseMountOptions([o]);
      return p.data === '' && p.unsupported.length === 0;
    };
    for (const o of f.mountOptions) assert.ok(known(o), `listed but not understood: ${o}`);
    // runc 1.1.5's list plus carton's own: what the runtime understands must be listed.
    const candidates = ['acl', 'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'iversion', 'lazytime', 'loud', 'mand', 'noacl', 'noatime', 'nodev', 'nodiratime', 'noexec', 'noiversion', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'private', 'ratime', 'rbind', 'rdev', 'rdiratime', 'relatime', 'remount', 'rexec', 'rnoatime', 'rnodev', 'rnodiratime', 'rnoexec', 'rnorelatime', 'rnostrictatime', 'rnosuid', 'rnosymfollow', 'ro', 'rprivate', 'rrelatime', 'rro', 'rrw', 'rshared', 'rslave', 'rstrictatime', 'rsuid', 'rsymfollow', 'runbindable', 'rw', 'shared', 'silent', 'slave', 'strictatime', 'suid', 'symfollow', 'sync', 'tmpcopyup', 'unbindable'];
    const missing = candidates.filter((o) => known(o) && !f.mountOptions.includes(o));
    assert.deepEqual(missing, []);
  });

  test('intelRdt and selinux: not supported, and the config fields behave accordingly', () => {
    assert.equal(f.linux.intelRdt.enabled, false);
    assert.equal(f.linux.selinux.enabled, false);
    const id = lab.id('rdt');
    const b = lab.bundle(id, ['true'], (s) => (s.linux!.intelRdt = { closID: 'carton-test' }));
    const r = lab.detached('carton', ['create', '-b', b, id]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /linux\.intelRdt: not supported/);
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });

  test('apparmor: the runtime applies process.apparmorProfile, so it says enabled (irrespective of the host, per the spec)', () => {
    assert.equal(f.linux.apparmor.enabled, true);
  });

  test('mountExtensions.idmap is false, so a mount with uidMappings is refused, not silently mounted unmapped', () => {
    assert.equal(f.linux.mountExtensions.idmap.enabled, false);
    const id = lab.id('idmap');
    const b = lab.bundle(id, ['true'], (s) => {
      s.mounts!.push({ destination: '/mnt', type: 'bind', source: '/tmp', options: ['bind'], uidMappings: [{ containerID: 0, hostID: 100000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 100000, size: 1 }] } as never);
    });
    const r = lab.detached('carton', ['create', '-b', b, id]);
    assert.equal(r.status, 1, 'an idmapped mount must not be created unmapped');
    assert.match(r.stderr, /mounts\[7\]/);
    assert.deepEqual(lab.leaks('carton', id, b), []);
  });
});
