/**
 * uid/gid maps of a container's new user namespace, written from the host at the
 * init's 'userns-maps' SYNC (a process cannot map its own namespace usefully).
 *
 * Who may write what (user_namespaces(7)):
 *  - root (CAP_SETUID/CAP_SETGID over the parent namespace) writes any map directly;
 *  - an unprivileged user may write, directly, only a one-line map of its own
 *    euid/egid, and for gid_map only after "deny" went into setgroups (otherwise
 *    it could drop groups that deny it access: CVE-2014-8989);
 *  - anything more goes through the setuid helpers newuidmap/newgidmap (package
 *    uidmap), which allow the ranges /etc/subuid and /etc/subgid give the user.
 *
 * The decision is pure (chooseIdMapWriters) so the plan knows before the init
 * starts whether setgroups(2) will be allowed inside.
 */
import * as fs from 'fs';
import { CartonError } from '../common/errors';
import type { LinuxIDMapping } from '../oci/spec';

export type MapKind = 'uid' | 'gid';

export type WriteMethod = 'direct' | 'helper';

export interface IdMapWriters {
  uid: WriteMethod;
  gid: WriteMethod;
  /** "deny" goes into /proc/<pid>/setgroups before gid_map: setgroups(2) fails inside. */
  denySetgroups: boolean;
}

/** Who runs the runtime, as the kernel sees it in the runtime's own user namespace. */
export interface Writer {
  euid: number;
  egid: number;
}

/** "containerID hostID size" lines, as uid_map/gid_map take them. */
export function formatIdMap(mappings: readonly LinuxIDMapping[] | undefined): string {
  return (mappings ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** The only map an unprivileged writer may set itself: its own id, once. */
export function isSelfMap(mappings: readonly LinuxIDMapping[] | undefined, id: number): boolean {
  return !!mappings && mappings.length === 1 && mappings[0].size === 1 && mappings[0].hostID === id;
}

/**
 * How each map gets written. Root writes directly and leaves setgroups alone
 * (as runc does); a user writes its self-map directly (gid: with setgroups denied,
 * which the kernel requires) and hands the rest to newuidmap/newgidmap, which
 * leave setgroups allowed when /etc/subgid grants the user ranges (checked after
 * the write: see writeUsernsMaps).
 */
export function chooseIdMapWriters(
  w: Writer,
  uidMappings: readonly LinuxIDMapping[] | undefined,
  gidMappings: readonly LinuxIDMapping[] | undefined,
): IdMapWriters {
  if (w.euid === 0) return { uid: 'direct', gid: 'direct', denySetgroups: false };
  const uid: WriteMethod = isSelfMap(uidMappings, w.euid) ? 'direct' : 'helper';
  const gidDirect = isSelfMap(gidMappings, w.egid);
  return {
    uid,
    gid: gidDirect ? 'direct' : 'helper',
    denySetgroups: gidDirect,
  };
}

/** One line of /etc/subuid or /etc/subgid that applies to the user. */
export interface SubIdRange {
  start: number;
  count: number;
}

/**
 * The ranges /etc/subuid (or subgid) grants a user, named by login name or by
 * numeric id, as shadow's helpers read them ("name:start:count", # comments).
 */
export function parseSubIds(text: string, userName: string | undefined, id: number): SubIdRange[] {
  const out: SubIdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(':');
    if (parts.length !== 3) continue;
    const [owner, s, c] = parts;
    if (owner !== String(id) && owner !== userName) continue;
    const start = Number(s);
    const count = Number(c);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count <= 0) continue;
    out.push({ start, count });
  }
  return out;
}

/** True when every host id of `m` lies in the caller's own id or the granted ranges. */
function covered(m: LinuxIDMapping, ranges: readonly SubIdRange[], ownId: number): boolean {
  if (m.size === 1 && m.hostID === ownId) return true;
  // Ranges may be adjacent: walk the host ids in pieces.
  let next = m.hostID;
  const end = m.hostID + m.size;
  for (let guard = 0; next < end && guard <= ranges.length + 1; guard++) {
    if (next === ownId) {
      next++;
      continue;
    }
    const r = ranges.find((x) => next >= x.start && next < x.start + x.count);
    if (!r) return false;
    next = r.start + r.count;
  }
  return next >= end;
}

/**
 * For an unprivileged user, every mapping must be the user's own id or inside
 * /etc/subuid (/etc/subgid): say which one is not, before anything is created.
 */
export function checkSubIdCoverage(
  kind: MapKind,
  mappings: readonly LinuxIDMapping[],
  ranges: readonly SubIdRange[],
  ownId: number,
  userName: string,
): void {
  const field = kind === 'uid' ? 'linux.uidMappings' : 'linux.gidMappings';
  const file = kind === 'uid' ? '/etc/subuid' : '/etc/subgid';
  mappings.forEach((m, i) => {
    if (!covered(m, ranges, ownId)) {
      const granted = ranges.length ? ranges.map((r) => `${r.start}-${r.start + r.count - 1}`).join(', ') : 'none';
      throw new CartonError(
        'EINVAL_CONFIG',
        `${field}[${i}]: host ${kind}s ${m.hostID}-${m.hostID + m.size - 1} are not yours to map: user ${userName} may map its own ${kind} ${ownId} and the ranges ${file} grants it (${granted})`,
        { hint: `add a line "${userName}:START:COUNT" to ${file} (as root), or map only ${ownId}` },
      );
    }
  });
}

/** Runs a helper; injectable for tests. */
export type HelperRunner = (file: string, args: string[]) => { status: number | null; stderr: string; error?: Error };

const runHelper: HelperRunner = (file, args) => {
  const r = (require('child_process') as typeof import('child_process')).spawnSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  return { status: r.status, stderr: String(r.stderr ?? ''), error: r.error };
};

/** Where newuidmap/newgidmap are, or undefined (searched in PATH, then the usual places). */
export function findHelper(name: 'newuidmap' | 'newgidmap', pathEnv = process.env.PATH ?? ''): string | undefined {
  const dirs = [...pathEnv.split(':').filter(Boolean), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const f = `${d}/${name}`;
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The helper that writes `kind` maps, or a clear error naming the field that needs it. */
export function requireHelper(kind: MapKind): string {
  const name = kind === 'uid' ? 'newuidmap' : 'newgidmap';
  const f = findHelper(name);
  if (!f) {
    const field = kind === 'uid' ? 'linux.uidMappings' : 'linux.gidMappings';
    throw new CartonError('EUNSUPPORTED', `${field}: mapping more than your own ${kind} needs ${name}, which is not installed`, {
      hint: 'install the uidmap package (apt-get install uidmap)',
    });
  }
  return f;
}

/**
 * Write the maps of the user namespace of `pid` (the init, stopped at its
 * 'userns-maps' SYNC), in the order the kernel needs: uid_map, setgroups, gid_map.
 */
export function writeIdMaps(
  pid: number,
  uidMappings: readonly LinuxIDMapping[] | undefined,
  gidMappings: readonly LinuxIDMapping[] | undefined,
  writers: IdMapWriters,
  run: HelperRunner = runHelper,
): void {
  writeOne(pid, 'uid', uidMappings ?? [], writers.uid, run);
  // newgidmap decides setgroups on its own; a direct self-map needs the deny first.
  if (writers.denySetgroups && writers.gid === 'direct') writeProc(pid, 'setgroups', 'deny', 'linux.gidMappings');
  writeOne(pid, 'gid', gidMappings ?? [], writers.gid, run);
}

function writeOne(pid: number, kind: MapKind, mappings: readonly LinuxIDMapping[], how: WriteMethod, run: HelperRunner): void {
  const field = kind === 'uid' ? 'linux.uidMappings' : 'linux.gidMappings';
  if (mappings.length === 0) return;
  if (how === 'direct') {
    writeProc(pid, `${kind}_map`, formatIdMap(mappings), field);
    return;
  }
  const helper = requireHelper(kind);
  const args = [String(pid), ...mappings.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])];
  const r = run(helper, args);
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : r.stderr.trim().split('\n').pop() || `exit status ${r.status}`;
    throw new CartonError('EKERNEL', `${field}: ${helper} ${args.join(' ')}: ${why}`, {
      hint: `check the ranges /etc/sub${kind} grants this user`,
    });
  }
}

function writeProc(pid: number, file: string, content: string, field: string): void {
  try {
    fs.writeFileSync(`/proc/${pid}/${file}`, content);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === 'EPERM' ? 'operation not permitted' : e.code === 'EINVAL' ? 'invalid argument' : e.message;
    throw new CartonError('EKERNEL', `${field}: write /proc/${pid}/${file}: ${reason}`, { cause: err });
  }
}

/** "allow" or "deny" for the user namespace of `pid`; undefined when unreadable. */
export function readSetgroups(pid: number | 'self'): 'allow' | 'deny' | undefined {
  try {
    const v = fs.readFileSync(`/proc/${pid}/setgroups`, 'utf8').trim();
    return v === 'deny' ? 'deny' : v === 'allow' ? 'allow' : undefined;
  } catch {
    return undefined;
  }
}
