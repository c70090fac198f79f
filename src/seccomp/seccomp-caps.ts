/**
 * Docker's default seccomp profile is not one fixed list: capabilities a container is
 * given unlock the system calls that need them (with CAP_SYS_ADMIN, `mount` and
 * namespace-creating `clone` work), and dropping CAP_SYS_CHROOT takes `chroot` away.
 * This adjusts the base profile (Docker's for the 14 default capabilities) the same way.
 */
import type { LinuxSeccomp, LinuxSyscall } from '../oci/spec';

/** System calls Docker's profile allows only to holders of a capability. */
const BY_CAP: Record<string, string[]> = {
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_SYS_ADMIN: [
    'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie', 'mount',
    'mount_setattr', 'move_mount', 'name_to_handle_at', 'open_tree', 'perf_event_open', 'quotactl', 'quotactl_fd',
    'setdomainname', 'sethostname', 'setns', 'syslog', 'umount', 'umount2', 'unshare',
  ],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_MODULE: ['delete_module', 'init_module', 'finit_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'],
  CAP_SYSLOG: ['syslog'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
};

const only = (rule: LinuxSyscall, name: string): boolean => rule.names.length === 1 && rule.names[0] === name;

export function seccompForCaps(base: LinuxSeccomp, caps: string[]): LinuxSeccomp {
  const profile: LinuxSeccomp = { ...base, syscalls: [...(base.syscalls ?? [])] };
  let rules = profile.syscalls!;
  if (!caps.includes('CAP_SYS_CHROOT')) rules = rules.filter((r) => !only(r, 'chroot'));
  if (caps.includes('CAP_SYS_ADMIN')) {
    // The flag-masked clone and the ENOSYS clone3 exist to stop namespace creation.
    rules = rules.filter((r) => !(only(r, 'clone') && r.args) && !(only(r, 'clone3') && r.action !== 'SCMP_ACT_ALLOW'));
  }
  const extra = new Set<string>();
  for (const cap of caps) for (const name of BY_CAP[cap] ?? []) extra.add(name);
  if (extra.size > 0) rules.push({ names: [...extra], action: 'SCMP_ACT_ALLOW' });
  profile.syscalls = rules;
  return profile;
}
