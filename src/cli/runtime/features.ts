/** carton-runtime features: the runtime-spec features document for what this runtime supports. */
import { stdout } from './out';
import { Globals, parseCommand } from './globals';

export function main(argv: string[], _g: Globals): number {
  const p = parseCommand({ name: 'features', usage: '', flags: [], minArgs: 0, maxArgs: 0 }, argv);
  if (!p) return 0;
  /* eslint-disable @typescript-eslint/no-var-requires */
  let seccomp: Record<string, unknown> = { enabled: false };
  try {
    const s = require('../../seccomp/index') as Record<string, readonly string[]>;
    seccomp = {
      enabled: true,
      actions: s.SUPPORTED_ACTIONS,
      operators: s.SUPPORTED_OPERATORS,
      archs: s.SUPPORTED_ARCHITECTURES,
      knownFlags: s.SUPPORTED_FLAGS,
      supportedFlags: s.SUPPORTED_FLAGS,
    };
  } catch {
    /* compiled without seccomp */
  }
  const doc = {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.2.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [
      'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'lazytime', 'mand', 'noatime', 'nodev',
      'nodiratime', 'noexec', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'private',
      'rbind', 'relatime', 'remount', 'ro', 'rprivate', 'rro', 'rshared', 'rslave', 'runbindable', 'rw', 'shared', 'slave',
      'strictatime', 'suid', 'symfollow', 'sync', 'unbindable',
    ],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: capabilityNames(),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp,
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'org.opencontainers.runtime-spec.features': 'carton-runtime' },
  };
  stdout(`${JSON.stringify(doc, null, 4)}\n`);
  return 0;
}

function capabilityNames(): string[] {
  try {
    const c = require('../../plan/capabilities') as Record<string, unknown>;
    for (const v of Object.values(c)) {
      if (v && typeof v === 'object' && !Array.isArray(v) && 'CAP_CHOWN' in (v as object)) return Object.keys(v as object);
      if (v instanceof Map && v.has('CAP_CHOWN')) return [...v.keys()] as string[];
    }
  } catch {
    /* fall through */
  }
  return [];
}
