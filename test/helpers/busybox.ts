/**
 * Test fixtures built from Debian's busybox-static: a minimal root filesystem and
 * an OCI bundle around it. Shared by every integration test that runs a container.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Spec } from '../../src/oci/spec';

export const BUSYBOX = '/bin/busybox';

const APPLETS = [
  'sh', 'true', 'false', 'echo', 'cat', 'ls', 'sleep', 'id', 'env', 'pwd', 'mkdir', 'touch', 'rm',
  'stat', 'grep', 'head', 'tail', 'wc', 'mount', 'umount', 'hostname', 'ps', 'kill', 'test', 'readlink',
  'ln', 'chmod', 'chown', 'mknod', 'dd', 'tr', 'sed', 'awk', 'uname', 'date', 'nproc', 'tty', 'stty', 'printf',
  'find', 'xargs', 'nc', 'wget', 'ip', 'ping', 'cut', 'sort', 'yes', 'seq', 'umask', 'ulimit', 'whoami',
];

/** Populate `dir` with a busybox root filesystem (bin, etc with root/nobody, empty proc/sys/dev/tmp). */
export function makeBusyboxRootfs(dir: string): string {
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'var', 'usr/bin']) {
    fs.mkdirSync(path.join(dir, d), { recursive: true });
  }
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  fs.copyFileSync(BUSYBOX, path.join(dir, 'bin', 'busybox'));
  fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) {
    const link = path.join(dir, 'bin', applet);
    if (!fs.existsSync(link)) fs.symlinkSync('busybox', link);
  }
  fs.writeFileSync(
    path.join(dir, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser:x:1000:1000::/home/user:/bin/sh\n',
  );
  fs.writeFileSync(path.join(dir, 'etc', 'group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\nuser:x:1000:\n');
  return dir;
}

/** A minimal config.json close to `runc spec`, without a terminal, running `args`. */
export function minimalSpec(args: string[], overrides: Partial<Spec> = {}): Spec {
  return {
    ociVersion: '1.2.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'carton-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
    ...overrides,
  };
}

/** A temporary bundle directory with a busybox rootfs and config.json; remove it with removeBundle. */
export function makeBundle(spec: Spec, prefix = 'carton-test-bundle-'): string {
  const bundle = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  makeBusyboxRootfs(path.join(bundle, 'rootfs'));
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
  return bundle;
}

export function removeBundle(bundle: string): void {
  fs.rmSync(bundle, { recursive: true, force: true });
}
