/**
 * Hostile suite: the kernel surface a container sees under the defaults Docker
 * and Podman send — dangerous syscalls refused by the seccomp profile, the
 * capability set and the device cgroup; /proc and /sys writes refused; kernel
 * secrets masked. Each probe line is asserted with its exact errno.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import { Bundle, Engine, Lab, parseProbe } from './lab';

let lab: Lab;
before(() => {
  lab = new Lab('surface');
});
after(() => lab.cleanup());

/** major:minor of the disk holding the host's / — what a container would love to open. */
function hostRootDisk(): string {
  const dev = fs.statSync('/').dev;
  return `${Math.floor(dev / 256)}:${dev % 256}`;
}

function probeSyscalls(b: Bundle, flags: string[] = []): Map<string, string> {
  const r = lab.exec(b, ['/bin/carton-probe', 'syscalls', String(process.pid), hostRootDisk()], flags);
  assert.equal(r.status, 0, r.stderr);
  return parseProbe(r.stdout);
}

function sleeper(engine: Engine, label: string): Bundle {
  const b = lab.bundle(engine, label, ['/bin/carton-probe', 'sleep']);
  lab.up(b);
  return b;
}

describe('Docker default profile and capabilities', () => {
  const expected: Record<string, string> = {
    mount: 'errno=EPERM', // seccomp: mount is not in the allow list (and no CAP_SYS_ADMIN)
    'unshare-user': 'errno=EPERM', // unshare needs CAP_SYS_ADMIN in the profile
    'unshare-mount': 'errno=EPERM',
    'clone-newuser': 'errno=EPERM', // clone's flag mask forbids namespace flags
    'mknod-block': 'ok', // CAP_MKNOD is granted, as under runc …
    'open-block': 'errno=EPERM', // … but the device cgroup refuses the host disk
    'open-char-mem': 'errno=EPERM', // /dev/mem likewise
    init_module: 'errno=EPERM',
    finit_module: 'errno=EPERM',
    'ptrace-host-pid': 'errno=ESRCH', // host processes do not exist in the pid namespace
    add_key: 'errno=EPERM',
    keyctl: 'errno=EPERM',
    bpf: 'errno=EPERM',
    perf_event_open: 'errno=EPERM',
    setns: 'errno=EPERM',
    swapon: 'errno=EPERM',
    reboot: 'errno=EPERM',
  };

  test('the container init is refused every dangerous syscall with the exact errno', () => {
    const b = lab.bundle('docker', 'sys-init', ['/bin/carton-probe', 'syscalls', String(process.pid), hostRootDisk()]);
    const r = lab.runtime(['run', '--bundle', b.dir, b.id]);
    assert.equal(r.status, 0, r.stderr);
    const got = parseProbe(r.stdout);
    for (const [what, want] of Object.entries(expected)) assert.equal(got.get(what), want, `${what}\n${r.stdout}`);
  });

  test('a process joining with exec is refused the same syscalls', (t) => {
    const b = sleeper('docker', 'sys-exec');
    t.after(() => lab.destroy(b));
    const got = probeSyscalls(b);
    for (const [what, want] of Object.entries(expected)) assert.equal(got.get(what), want, what);
  });

  test('raw sockets: granted to root with CAP_NET_RAW like Docker, refused to a user; no host interface visible', (t) => {
    const b = sleeper('docker', 'raw');
    t.after(() => lab.destroy(b));
    assert.equal(probeSyscalls(b).get('socket-raw'), 'ok');
    assert.equal(probeSyscalls(b, ['--user', '1000:1000']).get('socket-raw'), 'errno=EPERM');
    const net = lab.exec(b, ['/bin/carton-probe', 'ls', '/sys/class/net']);
    assert.equal(net.stdout.trim(), 'entries /sys/class/net 1', 'only lo in the container network namespace');
  });
});

describe('control: the probe does report success when nothing refuses', () => {
  // without this, a probe that always failed would make every test above pass
  test('no seccomp profile plus CAP_SYS_ADMIN: mount, unshare, keyctl, setns reach the kernel', () => {
    const b = lab.bundle('docker', 'control', ['/bin/carton-probe', 'syscalls', String(process.pid), hostRootDisk()], (spec) => {
      delete spec.linux!.seccomp;
      const caps = spec.process!.capabilities!;
      for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), 'CAP_SYS_ADMIN'];
    });
    const r = lab.runtime(['run', '--bundle', b.dir, b.id]);
    assert.equal(r.status, 0, r.stderr);
    const got = parseProbe(r.stdout);
    assert.equal(got.get('mount'), 'ok');
    assert.equal(got.get('unshare-user'), 'ok');
    assert.equal(got.get('keyctl'), 'ok');
    assert.equal(got.get('setns'), 'errno=EINVAL', 'setns reached the kernel (fd 0 is no namespace)');
  });
});

describe('Podman default profile and capabilities', () => {
  test('mount, block devices, modules, bpf, perf, raw sockets, host ptrace refused', (t) => {
    const b = sleeper('podman', 'sys');
    t.after(() => lab.destroy(b));
    const got = probeSyscalls(b);
    const expected: Record<string, string> = {
      mount: 'errno=EPERM',
      'mknod-block': 'errno=EPERM',
      'open-block': 'errno=ENOENT',
      init_module: 'errno=EPERM',
      finit_module: 'errno=EPERM',
      bpf: 'errno=EPERM',
      perf_event_open: 'errno=EPERM',
      'socket-raw': 'errno=EPERM', // Podman sends no CAP_NET_RAW in the effective set
      'ptrace-host-pid': 'errno=ESRCH',
      reboot: 'errno=EPERM',
    };
    for (const [what, want] of Object.entries(expected)) assert.equal(got.get(what), want, what);
  });
});

for (const engine of ['docker', 'podman'] as const) {
  describe(`/proc and /sys under ${engine} defaults`, () => {
    test('writes to /proc/sysrq-trigger, /proc/sys/kernel/* and /sys fail with EROFS; the host value is unchanged', (t) => {
      const b = sleeper(engine, 'procw');
      t.after(() => lab.destroy(b));
      const corePattern = fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
      const cases: [string, string][] = [
        ['/proc/sysrq-trigger', 'h'],
        ['/proc/sys/kernel/core_pattern', '|/tmp/carton-test-pwn'],
        ['/proc/sys/kernel/modprobe', '/tmp/carton-test-pwn'],
        ['/proc/sys/vm/drop_caches', '3'],
        ['/proc/sys/kernel/hostname', 'carton-test-pwn'],
        ['/sys/class/net/lo/mtu', '1234'],
        ['/sys/kernel/profiling', '1'],
      ];
      for (const [file, data] of cases) {
        const r = lab.exec(b, ['/bin/carton-probe', 'write', file, data]);
        // this kernel may be built without a file (no CONFIG_MAGIC_SYSRQ …): then it is absent inside too
        const want = fs.existsSync(file) ? 'errno=EROFS' : 'errno=ENOENT';
        assert.equal(parseProbe(r.stdout).get(`open-w ${file}`), want, `${file}: ${r.stdout}${r.stderr}`);
      }
      assert.equal(fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), corePattern);
    });

    test('/proc/kcore and /proc/keys read as empty, /sys/firmware lists nothing', (t) => {
      const b = sleeper(engine, 'procr');
      t.after(() => lab.destroy(b));
      for (const file of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug']) {
        const r = lab.exec(b, ['/bin/carton-probe', 'read', file]);
        const got = parseProbe(r.stdout);
        if (!fs.existsSync(file)) {
          // not built into this kernel: nothing to mask, and nothing to read inside either
          assert.equal(got.get(`open-r ${file}`), 'errno=ENOENT', `${file}: ${r.stdout}${r.stderr}`);
          continue;
        }
        // masked by a bind of /dev/null: open works, nothing comes back
        assert.equal(got.get(`read ${file}`), 'bytes=0', `${file}: ${r.stdout}${r.stderr}`);
      }
      assert.ok(fs.readFileSync('/proc/keys', 'utf8').length > 0, 'the host /proc/keys has content to hide');
      const fw = lab.exec(b, ['/bin/carton-probe', 'ls', '/sys/firmware']);
      assert.equal(fw.stdout.trim(), 'entries /sys/firmware 0', fw.stderr);
      assert.ok(fs.readdirSync('/sys/firmware').length > 0, 'the host does have firmware entries to hide');
    });
  });
}
