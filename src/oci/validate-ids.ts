/**
 * uid/gid mappings of a user namespace: well-formed, non-overlapping, within
 * the kernel's 32-bit id space, and covering the ids the container will use.
 */
import { fail, isObj, optArray, reqInt, type Obj } from './validate-util';

interface Mapping { containerID: number; hostID: number; size: number }

/** The kernel accepts at most this many lines in uid_map/gid_map (since 4.15). */
const MAX_MAPPINGS = 340;
const ID_SPACE = 2 ** 32;

function readMappings(linux: Obj, key: string): Mapping[] | undefined {
  const field = `linux.${key}`;
  const list = optArray(linux, key, field);
  if (!list) return undefined;
  if (list.length > MAX_MAPPINGS) fail(field, `at most ${MAX_MAPPINGS} mappings are allowed, got ${list.length}`);
  const out = list.map((m, i): Mapping => {
    const f = `${field}[${i}]`;
    if (!isObj(m)) fail(f, 'must be an object');
    const containerID = reqInt(m, 'containerID', `${f}.containerID`);
    const hostID = reqInt(m, 'hostID', `${f}.hostID`);
    const size = reqInt(m, 'size', `${f}.size`);
    if (containerID < 0 || hostID < 0) fail(f, 'ids must not be negative');
    if (size <= 0) fail(`${f}.size`, `must be greater than zero, got ${size}`);
    if (containerID + size > ID_SPACE) fail(f, `container ids ${containerID}..${containerID + size - 1} do not fit in 32 bits`);
    if (hostID + size > ID_SPACE) fail(f, `host ids ${hostID}..${hostID + size - 1} do not fit in 32 bits`);
    return { containerID, hostID, size };
  });
  // The kernel refuses overlapping ranges on either side.
  for (let i = 0; i < out.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = out[i];
      const b = out[j];
      if (a.containerID < b.containerID + b.size && b.containerID < a.containerID + a.size) {
        fail(`${field}[${i}]`, `container ids overlap with ${field}[${j}]`);
      }
      if (a.hostID < b.hostID + b.size && b.hostID < a.hostID + a.size) {
        fail(`${field}[${i}]`, `host ids overlap with ${field}[${j}]`);
      }
    }
  }
  return out;
}

export function isMapped(mappings: Mapping[], id: number): boolean {
  return mappings.some((m) => id >= m.containerID && id < m.containerID + m.size);
}

export function checkIdMappings(_spec: Obj, linux: Obj, namespaces: Map<string, { path?: string }>): void {
  const uid = readMappings(linux, 'uidMappings');
  const gid = readMappings(linux, 'gidMappings');
  const user = namespaces.get('user');
  if (!user) {
    if (uid?.length) fail('linux.uidMappings', 'set, but there is no user namespace (add {"type": "user"} to linux.namespaces)');
    if (gid?.length) fail('linux.gidMappings', 'set, but there is no user namespace (add {"type": "user"} to linux.namespaces)');
    return;
  }
  if (user.path) return; // joined: the namespace already has its maps
  if (!uid?.length) fail('linux.uidMappings', 'required when a new user namespace is created');
  if (!gid?.length) fail('linux.gidMappings', 'required when a new user namespace is created');
  // The init becomes root in the new namespace to set the container up.
  if (!isMapped(uid, 0)) fail('linux.uidMappings', 'container uid 0 must be mapped (the runtime sets the container up as root in its user namespace)');
  if (!isMapped(gid, 0)) fail('linux.gidMappings', 'container gid 0 must be mapped (the runtime sets the container up as root in its user namespace)');
}

/** The process's uid, gid and additional gids must exist in a new user namespace. */
export function checkMappedIds(spec: Obj, linux: Obj, namespaces: Map<string, { path?: string }>): void {
  const user = namespaces.get('user');
  if (!user || user.path) return;
  const uid = linux.uidMappings as Mapping[];
  const gid = linux.gidMappings as Mapping[];
  const pu = (spec.process as Obj).user as { uid: number; gid: number; additionalGids?: number[] };
  if (!isMapped(uid, pu.uid)) fail('process.user.uid', `${pu.uid} is not mapped by linux.uidMappings`);
  if (!isMapped(gid, pu.gid)) fail('process.user.gid', `${pu.gid} is not mapped by linux.gidMappings`);
  (pu.additionalGids ?? []).forEach((g, i) => {
    if (!isMapped(gid, g)) fail(`process.user.additionalGids[${i}]`, `${g} is not mapped by linux.gidMappings`);
  });
}
