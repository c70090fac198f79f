/**
 * `-u USER[:GROUP]` (or the image's User) resolved through the image's own /etc/passwd
 * and /etc/group, with the semantics Docker inherits from runc's user package: names
 * must exist, numeric ids need not, the primary group comes from passwd unless a group
 * is given, and supplementary groups are the groups listing the user as a member.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError } from '../common/errors';

export interface PasswdEntry { name: string; uid: number; gid: number; home: string }
export interface GroupEntry { name: string; gid: number; members: string[] }

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Primary gid first, then groups the user is a member of (Docker's additionalGids). */
  additionalGids: number[];
  home: string;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const f = t.split(':');
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (f.length < 4 || !Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const f = t.split(':');
    const gid = Number(f[2]);
    if (f.length < 3 || !Number.isInteger(gid)) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

const isNumeric = (s: string): boolean => /^\d+$/.test(s);

function fail(message: string): CartonError {
  return new CartonError('EINVAL_CONFIG', message, { exitCode: 125 });
}

/** Pure resolution of `spec` ("", "name", "1000", "name:group", "1000:1000") against file contents. */
export function resolveUser(spec: string, passwdText: string | undefined, groupText: string | undefined): ResolvedUser {
  const [userPart, groupPart] = spec.includes(':') ? [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)] : [spec, undefined];
  const users = passwdText === undefined ? [] : parsePasswd(passwdText);
  const groups = groupText === undefined ? [] : parseGroup(groupText);
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  const wantUser = userPart === '' ? 'root' : userPart;
  const entry = isNumeric(wantUser)
    ? users.find((u) => u.uid === Number(wantUser))
    : users.find((u) => u.name === wantUser);
  if (entry) {
    uid = entry.uid;
    gid = entry.gid;
    home = entry.home || '/';
    name = entry.name;
  } else if (isNumeric(wantUser)) {
    uid = Number(wantUser);
  } else if (userPart !== '') {
    // An empty user means root, fine without a passwd entry; a named user must exist.
    throw fail(`unable to find user ${wantUser}: no matching entries in passwd file`);
  }
  if (uid > 0x7fffffff) throw fail(`uids and gids must be in range 0-2147483647`);

  const additional: number[] = [];
  if (groupPart !== undefined && groupPart !== '') {
    if (isNumeric(groupPart)) {
      gid = Number(groupPart);
    } else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw fail(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
    if (gid > 0x7fffffff) throw fail(`uids and gids must be in range 0-2147483647`);
  } else if (name !== undefined) {
    for (const g of groups) if (g.members.includes(name)) additional.push(g.gid);
  }
  const additionalGids = [gid];
  for (const g of additional) if (!additionalGids.includes(g)) additionalGids.push(g);
  return { uid, gid, additionalGids, home };
}

/**
 * Read a file of the image by its path inside the root filesystem, following symlinks
 * only within the rootfs (an image's /etc/passwd may be a link, but never to the host's).
 */
export function readInRootfs(rootfs: string, inner: string): string | undefined {
  let current = '/';
  const parts = inner.split('/').filter(Boolean);
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      current = path.posix.dirname(current);
      continue;
    }
    const next = path.posix.join(current, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path.join(rootfs, next));
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = fs.readlinkSync(path.join(rootfs, next));
      parts.unshift(...target.split('/').filter(Boolean));
      if (target.startsWith('/')) current = '/';
      continue;
    }
    current = next;
  }
  try {
    return fs.readFileSync(path.join(rootfs, current), 'utf8');
  } catch {
    return undefined;
  }
}

/** Resolve `spec` against the image's root filesystem. */
export function resolveUserInRootfs(spec: string, rootfs: string): ResolvedUser {
  return resolveUser(spec, readInRootfs(rootfs, '/etc/passwd'), readInRootfs(rootfs, '/etc/group'));
}
