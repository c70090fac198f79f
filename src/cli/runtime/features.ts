/** carton-runtime features: the runtime-spec features document for what this runtime supports. */
import { CAPABILITY_NAMES } from '../../plan/capabilities';
import { KNOWN_MOUNT_OPTIONS } from '../../plan/mount-options';
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
    mountOptions: [...KNOWN_MOUNT_OPTIONS],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: [...CAPABILITY_NAMES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp,
      // The spec asks whether the runtime supports it, not the host: process.apparmorProfile
      // is applied wherever the host has AppArmor (and skipped where it has not).
      apparmor: { enabled: true },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'org.opencontainers.runtime-spec.features': 'carton-runtime' },
  };
  stdout(`${JSON.stringify(doc, null, 4)}\n`);
  return 0;
}
