/**
 * One readable line per op, for --debug logs and test failure messages:
 * `12 MOUNT mounts[3] (/sys): sysfs -> /sys (sysfs, ro,nosuid,nodev,noexec)`.
 */
import { MountTargetKind, MS, Op, OpCode } from './ops';

const OP_NAMES: Record<number, string> = {
  1: 'UNSHARE', 2: 'SETNS', 3: 'SYNC', 4: 'FORK', 5: 'TIMENS_OFFSETS', 6: 'CONSOLE_SOCKET', 7: 'OPEN_FIFO',
  8: 'SET_ROOT', 9: 'MOUNT', 10: 'MOUNT_SETATTR', 11: 'MKNOD', 12: 'SYMLINK', 13: 'MKDIR', 14: 'PIVOT_ROOT',
  15: 'MOVE_ROOT', 16: 'MASK_PATH', 17: 'READONLY_PATH', 18: 'WRITE_FILE', 19: 'SETHOSTNAME', 20: 'SETDOMAINNAME',
  21: 'SETRLIMIT', 22: 'UMASK', 23: 'SET_USER', 24: 'CAPS', 25: 'NO_NEW_PRIVS', 26: 'SECCOMP', 27: 'CONSOLE',
  28: 'SETSID', 29: 'CHDIR', 30: 'CLOSE_FDS', 31: 'READY', 32: 'WAIT_START', 33: 'LOOKUP', 34: 'EXEC',
  35: 'PERSONALITY', 36: 'SET_DUMPABLE', 37: 'NOTE', 38: 'SECCOMP_LISTENER_SOCKET',
  39: 'LOOPBACK_UP', 40: 'PROGRAM',
};

const FLAG_NAMES: [number, string][] = [
  [MS.RDONLY, 'ro'], [MS.NOSUID, 'nosuid'], [MS.NODEV, 'nodev'], [MS.NOEXEC, 'noexec'], [MS.SYNCHRONOUS, 'sync'],
  [MS.REMOUNT, 'remount'], [MS.MANDLOCK, 'mand'], [MS.DIRSYNC, 'dirsync'], [MS.NOSYMFOLLOW, 'nosymfollow'],
  [MS.NOATIME, 'noatime'], [MS.NODIRATIME, 'nodiratime'], [MS.BIND, 'bind'], [MS.MOVE, 'move'], [MS.REC, 'rec'],
  [MS.UNBINDABLE, 'unbindable'], [MS.PRIVATE, 'private'], [MS.SLAVE, 'slave'], [MS.SHARED, 'shared'],
  [MS.RELATIME, 'relatime'], [MS.STRICTATIME, 'strictatime'], [MS.LAZYTIME, 'lazytime'],
];

export function mountFlagNames(flags: number): string {
  return FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name).join(',');
}

const KIND = ['host', 'in-root', 'in-root+mkdir', 'in-root+touch'];

function details(op: Op): string {
  switch (op.op) {
    case OpCode.UNSHARE: return `0x${op.flags.toString(16)}`;
    case OpCode.SETNS: return op.path;
    case OpCode.SYNC: return op.tag;
    case OpCode.FORK:
      return `${op.mode === 0 ? 'detach' : 'wait'}${op.cgroup2Dir ? ` into ${op.cgroup2Dir}` : ''}${op.leaveFiles?.length ? `, then parent leaves to ${op.leaveFiles.join(' ')}` : ''}`;
    case OpCode.MOUNT:
      return `${op.device || '-'} -> ${op.target} [${KIND[op.targetKind as MountTargetKind]}] (${op.fstype || '-'}; ${mountFlagNames(op.flags) || '-'}${op.data ? `; ${op.data}` : ''})`;
    case OpCode.MOUNT_SETATTR:
      return `${op.target} set=0x${op.attrSet.toString(16)} clear=0x${op.attrClear.toString(16)}${op.recursive ? ' recursive' : ''}`;
    case OpCode.MKNOD: return `${op.path} mode=0${op.mode.toString(8)} ${op.major}:${op.minor}${op.bindFallback ? ' (bind fallback)' : ''}`;
    case OpCode.SYMLINK: return `${op.path} -> ${op.target}`;
    case OpCode.WRITE_FILE: return `${op.path} = ${JSON.stringify(op.content)}`;
    case OpCode.SETRLIMIT: return `${op.resource} soft=${op.soft} hard=${op.hard}`;
    case OpCode.SET_USER: return `${op.uid}:${op.gid} groups=[${op.groups.join(',')}]${op.setGroups ? '' : ' (no setgroups)'}`;
    case OpCode.CAPS: return `bounding=0x${op.bounding.toString(16)} effective=0x${op.effective.toString(16)}`;
    case OpCode.SECCOMP: return `${op.program.length / 8} instructions, flags=0x${op.flags.toString(16)}`;
    case OpCode.LOOKUP:
    case OpCode.EXEC: return JSON.stringify(op.argv);
    default: {
      const rest = Object.entries(op).filter(([k]) => k !== 'op' && k !== 'source');
      return rest.map(([k, v]) => `${k}=${typeof v === 'string' ? v : String(v)}`).join(' ');
    }
  }
}

export function describeOp(op: Op, index?: number): string {
  const name = OP_NAMES[op.op] ?? `OP${op.op}`;
  const d = details(op);
  return `${index === undefined ? '' : `${index} `}${name} ${op.source}${d ? `: ${d}` : ''}`;
}

export function describePlan(ops: readonly Op[]): string[] {
  return ops.map((op, i) => describeOp(op, i));
}
