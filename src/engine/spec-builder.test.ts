import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Spec } from '../oci/spec';
import { dockerDefaultProfile } from '../seccomp/docker-default';
import { ALL_CAPS, DEFAULT_CAPS, capsFromMask } from './defaults';
import type { RunOptions } from './run-options';
import { parseMountFlag, parseTmpfsFlag, parseVolumeFlag } from './run-options';
import { buildEnv, buildSpec, resolveArgs, SpecInputs } from './spec-builder';
import { parseBytes } from './units';

// A config.json written by dockerd 20.10 for `docker run -d busybox sleep 100`.
const REFERENCE = path.join(__dirname, '..', '..', '..', 'src', 'engine', 'testdata', 'docker-config-run-d.json');

function options(over: Partial<RunOptions> = {}): RunOptions {
  return {
    rm: false, interactive: false, tty: false, env: [], mounts: [], readOnly: false, capAdd: [], capDrop: [],
    noNewPrivileges: false, seccomp: { kind: 'default' }, privileged: false, network: 'default', ...over,
  };
}

function inputs(over: Partial<SpecInputs> = {}): SpecInputs {
  const id = 'c5d45be335a7f50caf09bd48fa8cca78ffb7711a41f208436bc8f8e5fbda60ff';
  const dir = `/var/lib/docker/containers/${id}`;
  return {
    id,
    rootfs: '/var/lib/docker/overlay2/c59e3096416cc614e69dae91263bfd7838a53eeef8e64481419e2d34ca501bf9/merged',
    image: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    command: ['sleep', '100'],
    options: options(),
    user: { uid: 0, gid: 0, additionalGids: [0], home: '/root' },
    hostname: id.slice(0, 12),
    etcFiles: { resolvConf: `${dir}/resolv.conf`, hostname: `${dir}/hostname`, hosts: `${dir}/hosts` },
    mounts: [],
    seccomp: dockerDefaultProfile(),
    cgroupParent: '/docker',
    ...over,
  };
}

test('the config matches what dockerd writes for the same run, apart from what Carton leaves out on purpose', () => {
  const want = JSON.parse(fs.readFileSync(REFERENCE, 'utf8')) as Spec & { hooks?: unknown };
  // Docker's network hook and zero-valued resources have no Carton equivalent.
  delete want.hooks;
  want.linux!.resources = { devices: want.linux!.resources!.devices };
  const got = buildSpec(inputs());
  // HOME is set by runc from the image's passwd at exec time; Carton says it in the spec.
  assert.ok(got.process!.env!.includes('HOME=/root'));
  got.process!.env = got.process!.env!.filter((e) => !e.startsWith('HOME='));
  assert.deepEqual(got, want);
});

test('entrypoint and cmd follow Docker: --entrypoint drops the image CMD, --entrypoint "" keeps it', () => {
  const image = { Entrypoint: ['/entry.sh'], Cmd: ['serve'] };
  assert.deepEqual(resolveArgs(image, [], undefined), ['/entry.sh', 'serve']);
  assert.deepEqual(resolveArgs(image, ['x'], undefined), ['/entry.sh', 'x']);
  assert.deepEqual(resolveArgs(image, [], 'sh'), ['sh']);
  assert.deepEqual(resolveArgs(image, ['-c', 'id'], 'sh'), ['sh', '-c', 'id']);
  assert.deepEqual(resolveArgs(image, [], ''), ['serve']);
  assert.throws(() => resolveArgs({}, [], undefined), /No command specified/);
});

test('env: defaults first, image Env replaces by key, -e wins, TERM with a tty', () => {
  const env = buildEnv(['PATH=/img', 'A=1', 'B=2'], ['B=3', 'C=4'], 'h1', true, '/home/u');
  assert.deepEqual(env, ['PATH=/img', 'HOSTNAME=h1', 'TERM=xterm', 'A=1', 'B=3', 'C=4', 'HOME=/home/u']);
  assert.ok(buildEnv([], ['HOME=/x'], 'h', false, '/root').includes('HOME=/x'));
});

test('limits, user mounts, read-only root, no-new-privileges and host network', () => {
  const spec = buildSpec(inputs({
    options: options({
      memory: parseBytes('64m', '-m'), nanoCpus: 1.5e9, pidsLimit: 20, readOnly: true, noNewPrivileges: true, network: 'host',
    }),
    mounts: [parseVolumeFlag('/srv/data:/data:ro'), parseTmpfsFlag('/run:exec,size=1m'), parseMountFlag('type=bind,src=/a,dst=/etc/x', parseBytes)],
  }));
  const res = spec.linux!.resources!;
  assert.deepEqual(res.memory, { limit: 64 * 1024 * 1024, swap: 128 * 1024 * 1024 });
  assert.deepEqual(res.cpu, { quota: 150000, period: 100000 });
  assert.deepEqual(res.pids, { limit: 20 });
  assert.equal(spec.root!.readonly, true);
  assert.equal(spec.process!.noNewPrivileges, true);
  assert.ok(!spec.linux!.namespaces!.some((n) => n.type === 'network'));
  assert.equal(spec.linux!.sysctl, undefined);
  assert.equal(spec.hooks, undefined);
  // A private network namespace, and no hook: the runtime brings its lo up itself.
  const none = buildSpec(inputs({ options: options({ network: 'none' }) }));
  assert.equal(none.hooks, undefined);
  assert.ok(none.linux!.namespaces!.some((n) => n.type === 'network'));
  const byDest = Object.fromEntries(spec.mounts!.map((m) => [m.destination, m]));
  assert.deepEqual(byDest['/data'], { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro', 'rprivate'] });
  assert.deepEqual(byDest['/run'].options, ['nosuid', 'nodev', 'size=1m']);
  // Deeper destinations come after shallower ones.
  const order = spec.mounts!.map((m) => m.destination);
  assert.ok(order.indexOf('/etc/x') > order.indexOf('/data'));
  assert.throws(() => buildSpec(inputs({ options: options({ memory: 1024 }) })), /Minimum memory limit allowed is 6MB/);
});

test('capabilities: add/drop by any spelling, ALL, and --privileged', () => {
  const caps = (o: Partial<RunOptions>): string[] => buildSpec(inputs({ options: options(o) })).process!.capabilities!.bounding!;
  assert.deepEqual(caps({}), DEFAULT_CAPS);
  const c = caps({ capAdd: ['sys_admin'], capDrop: ['CAP_CHOWN', 'net_raw'] });
  assert.ok(c.includes('CAP_SYS_ADMIN') && !c.includes('CAP_CHOWN') && !c.includes('CAP_NET_RAW'));
  assert.deepEqual(caps({ capDrop: ['ALL'], capAdd: ['kill'] }), ['CAP_KILL']);
  assert.deepEqual(caps({ capAdd: ['ALL'], capDrop: ['MKNOD'] }), ALL_CAPS.filter((x) => x !== 'CAP_MKNOD'));
  assert.throws(() => caps({ capAdd: ['bogus'] }), /unknown capability: "CAP_BOGUS"/);
  // A host without CAP_SYS_RESOURCE cannot hand it out, even to --privileged.
  const limited = ALL_CAPS.filter((x) => x !== 'CAP_SYS_RESOURCE');
  assert.deepEqual(buildSpec(inputs({ options: options({ privileged: true }), availableCaps: limited })).process!.capabilities!.bounding, limited);
  assert.deepEqual(capsFromMask('000001ffffffffff'), ALL_CAPS);
  assert.deepEqual(capsFromMask('5'), ['CAP_CHOWN', 'CAP_DAC_READ_SEARCH']);
  const priv = buildSpec(inputs({ options: options({ privileged: true }), seccomp: undefined, hostDevices: [{ path: '/dev/sda', type: 'b', major: 8, minor: 0 }] }));
  assert.deepEqual(priv.process!.capabilities!.effective, ALL_CAPS);
  assert.equal(priv.linux!.seccomp, undefined);
  assert.equal(priv.linux!.maskedPaths, undefined);
  assert.equal(priv.linux!.readonlyPaths, undefined);
  assert.deepEqual(priv.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
  assert.deepEqual(priv.linux!.devices, [{ path: '/dev/sda', type: 'b', major: 8, minor: 0 }]);
  assert.ok(!priv.mounts!.find((m) => m.destination === '/sys')!.options!.includes('ro'));
});

test('a tty, a user mount over /dev/shm, and a relative working directory', () => {
  const spec = buildSpec(inputs({ options: options({ tty: true }), mounts: [parseTmpfsFlag('/dev/shm')], consoleSize: { height: 24, width: 80 } }));
  assert.equal(spec.process!.terminal, true);
  assert.deepEqual(spec.process!.consoleSize, { height: 24, width: 80 });
  assert.equal(spec.mounts!.filter((m) => m.destination === '/dev/shm').length, 1);
  assert.equal(spec.mounts!.find((m) => m.destination === '/dev/shm')!.source, 'tmpfs');
  assert.throws(() => buildSpec(inputs({ options: options({ workdir: 'rel' }) })), /the working directory 'rel' is invalid, it needs to be an absolute path/);
});

test('the default seccomp profile follows the capabilities, as Docker\'s does', () => {
  const names = (spec: Spec): string[] => spec.linux!.seccomp!.syscalls!.flatMap((r) => (r.action === 'SCMP_ACT_ALLOW' && !r.args ? r.names : []));
  const base = buildSpec(inputs({ seccompIsDefault: true }));
  // The reference profile is unchanged for the default capabilities.
  assert.deepEqual(base.linux!.seccomp, dockerDefaultProfile());
  assert.ok(!names(base).includes('mount'));
  const admin = buildSpec(inputs({ seccompIsDefault: true, options: options({ capAdd: ['SYS_ADMIN'] }) }));
  assert.ok(names(admin).includes('mount') && names(admin).includes('clone3') && names(admin).includes('unshare'));
  assert.ok(!admin.linux!.seccomp!.syscalls!.some((r) => r.names.includes('clone') && r.args));
  const noChroot = buildSpec(inputs({ seccompIsDefault: true, options: options({ capDrop: ['SYS_CHROOT'] }) }));
  assert.ok(!names(noChroot).includes('chroot'));
  // A profile from a file is used as given.
  const custom = { defaultAction: 'SCMP_ACT_ALLOW' as const };
  assert.deepEqual(buildSpec(inputs({ seccomp: custom, options: options({ capAdd: ['SYS_ADMIN'] }) })).linux!.seccomp, custom);
});
