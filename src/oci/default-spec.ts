/**
 * The config.json `carton-runtime spec` writes: the same container runc's
 * `spec` describes (an interactive sh, three capabilities, the usual /dev,
 * /proc and /sys mounts, masked and read-only /proc paths, new namespaces),
 * and its --rootless variant for an unprivileged user.
 */
import { OCI_VERSION, type Mount, type Spec } from './spec';

export interface DefaultSpecOptions {
  rootless?: boolean;
  /** Host uid/gid mapped to root in the rootless variant (default: the caller's effective ids). */
  hostUid?: number;
  hostGid?: number;
}

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi', '/sys/devices/virtual/powercap',
];

const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

export function defaultSpec(options: DefaultSpecOptions = {}): Spec {
  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS], ambient: [...CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'carton',
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  return options.rootless ? toRootless(spec, options) : spec;
}

/**
 * What an unprivileged user can run: a user namespace mapping the caller to
 * root, no network namespace (creating interfaces needs privileges the user
 * lacks), /sys bound from the host (sysfs cannot be mounted without owning a
 * network namespace), no uid=/gid= mount options (ids the map lacks), and no
 * cgroup resources (the user may not own a cgroup to limit).
 */
export function toRootless(spec: Spec, options: DefaultSpecOptions = {}): Spec {
  const uid = options.hostUid ?? process.geteuid?.() ?? 0;
  const gid = options.hostGid ?? process.getegid?.() ?? 0;
  const linux = spec.linux ?? {};
  const namespaces = (linux.namespaces ?? []).filter((ns) => ns.type !== 'network' && ns.type !== 'user');
  namespaces.push({ type: 'user' });
  const mounts = (spec.mounts ?? []).map((m): Mount => {
    if (m.destination.replace(/\/+$/, '') === '/sys') {
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    }
    const opts = m.options?.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid='));
    return opts ? { ...m, options: opts } : { ...m };
  });
  const { resources: _dropped, ...rest } = linux;
  void _dropped;
  return {
    ...spec,
    mounts,
    linux: {
      ...rest,
      uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
      namespaces,
    },
  };
}
