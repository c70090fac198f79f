/**
 * The container process's own set-up, shared by create and exec: oom score,
 * console, rlimits, AppArmor, umask, cwd, the executable lookup, and the
 * final credential drop (user, capabilities, no_new_privs, seccomp) before execve.
 */
import { CartonError } from '../common/errors';
import type { Process } from '../oci/spec';
import type { PlanSeccomp } from './inputs';
import { Op, OpCode } from './ops';
import { capabilityMasks } from './capabilities';
import { resolveRlimits } from './rlimits';

/** Written on the host side before any namespace change: lowering it needs CAP_SYS_RESOURCE in the initial user namespace. */
export function oomScoreOps(oomScoreAdj: number | undefined): Op[] {
  if (oomScoreAdj === undefined) return [];
  return [{ op: OpCode.WRITE_FILE, path: '/proc/self/oom_score_adj', content: String(oomScoreAdj), source: 'process.oomScoreAdj' }];
}

/** Connect the console socket while host paths are reachable; the pty comes later (CONSOLE). */
export function consoleSocketOps(process: Process, consoleSocket: string | undefined): Op[] {
  if (process.terminal) {
    if (!consoleSocket) {
      throw new CartonError('EINVAL_CONFIG', 'process.terminal: a terminal needs --console-socket (the pty master is sent there)');
    }
    return [{ op: OpCode.CONSOLE_SOCKET, path: consoleSocket, source: '--console-socket' }];
  }
  if (consoleSocket) {
    throw new CartonError('EINVAL_CONFIG', '--console-socket: given, but process.terminal is false');
  }
  return [];
}

export function consoleOps(process: Process): Op[] {
  if (!process.terminal) return [];
  return [{
    op: OpCode.CONSOLE,
    rows: process.consoleSize?.height ?? 0,
    cols: process.consoleSize?.width ?? 0,
    source: 'process.terminal',
  }];
}

export function rlimitOps(process: Process): Op[] {
  return resolveRlimits(process.rlimits).map((r) => ({
    op: OpCode.SETRLIMIT, resource: r.resource, soft: r.soft, hard: r.hard, source: r.source,
  }));
}

/** AppArmor applies the profile at execve: "exec <profile>" into the process's attr file. */
export function apparmorOps(process: Process, enabled: boolean | undefined): Op[] {
  if (!process.apparmorProfile || !enabled) return [];
  return [{
    op: OpCode.WRITE_FILE,
    path: '/proc/self/attr/apparmor/exec',
    content: `exec ${process.apparmorProfile}`,
    source: `process.apparmorProfile (${process.apparmorProfile})`,
  }];
}

export function umaskOps(process: Process): Op[] {
  return [{ op: OpCode.UMASK, mask: process.user.umask ?? 0o022, source: 'process.user.umask' }];
}

export function chdirOps(process: Process): Op[] {
  return [{ op: OpCode.CHDIR, path: process.cwd, source: `process.cwd (${process.cwd})` }];
}

/**
 * The environment execve gets: one entry per name, the last one winning (as
 * runc does, so "docker run -e PATH=…" overrides the image's PATH wherever
 * the engine put it), in the order of those last entries; and HOME, when the
 * config has none, from the caller's passwd lookup ("/" when unknown), as runc adds it.
 */
export function containerEnv(env: readonly string[] | undefined, home?: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = (env ?? []).length - 1; i >= 0; i--) {
    const kv = env![i];
    const eq = kv.indexOf('=');
    const name = eq < 0 ? kv : kv.slice(0, eq);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(kv);
  }
  out.reverse();
  if (!seen.has('HOME')) out.push(`HOME=${home || '/'}`);
  return out;
}

/** Resolve argv[0] now so a missing command fails `create`, not a later `start`. */
export function lookupOps(process: Process, home?: string): Op[] {
  const argv = process.args ?? [];
  return [{ op: OpCode.LOOKUP, argv, env: containerEnv(process.env, home), source: `process.args[0] (${argv[0]})` }];
}

export interface FinalOptions {
  capLastCap: number;
  seccomp?: PlanSeccomp;
  setgroupsDenied?: boolean;
  preserveFds: number;
  home?: string;
}

/**
 * From root to the configured user, then execve. Without no_new_privs,
 * loading a seccomp filter needs CAP_SYS_ADMIN, so the filter goes in before
 * the user change drops it; with no_new_privs it goes in as late as possible
 * so the fewest syscalls run under it. Every fd from 3 + preserveFds is closed
 * except the init's own (close-on-exec: socket, root, fifo, agent socket).
 */
export function finalOps(process: Process, o: FinalOptions): Op[] {
  const ops: Op[] = [];
  const nnp = process.noNewPrivileges === true;
  const seccompOps = (): Op[] => (o.seccomp ? [{
    op: OpCode.SECCOMP,
    flags: o.seccomp.flags,
    program: o.seccomp.program,
    listenerPath: o.seccomp.listenerPath ?? '',
    listenerMetadata: o.seccomp.listenerMetadata ?? '',
    source: 'linux.seccomp',
  }] : []);
  if (!nnp) ops.push(...seccompOps());
  const u = process.user;
  ops.push({
    op: OpCode.SET_USER,
    uid: u.uid,
    gid: u.gid,
    setGroups: !o.setgroupsDenied,
    groups: u.additionalGids ?? [],
    source: `process.user (${u.uid}:${u.gid})`,
  });
  const masks = capabilityMasks(process.capabilities, o.capLastCap);
  ops.push({ op: OpCode.CAPS, ...masks, source: 'process.capabilities' });
  if (nnp) ops.push({ op: OpCode.NO_NEW_PRIVS, source: 'process.noNewPrivileges' });
  ops.push({ op: OpCode.CLOSE_FDS, first: 3 + o.preserveFds, source: '--preserve-fds' });
  if (nnp) ops.push(...seccompOps());
  const argv = process.args ?? [];
  ops.push({ op: OpCode.EXEC, argv, env: containerEnv(process.env, o.home), source: `process.args[0] (${argv[0]})` });
  return ops;
}

/**
 * The state JSON that goes with the notify fd arrives as this SYNC's CONTINUE
 * payload; the init keeps it until SECCOMP. It must come while the host still
 * listens (before READY: `create` has exited by the time `start` runs), and
 * after every other SYNC, whose CONTINUE would replace the payload.
 */
export function seccompListenerSyncOps(seccomp: PlanSeccomp | undefined): Op[] {
  if (!seccomp?.listenerPath) return [];
  return [{ op: OpCode.SYNC, tag: 'seccomp-listener', source: 'linux.seccomp.listenerPath' }];
}

export function seccompListenerSocketOps(seccomp: PlanSeccomp | undefined): Op[] {
  if (!seccomp?.listenerPath) return [];
  return [{ op: OpCode.SECCOMP_LISTENER_SOCKET, path: seccomp.listenerPath, source: 'linux.seccomp.listenerPath' }];
}
