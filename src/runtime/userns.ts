/**
 * The runtime's side of a container's user namespace, in two calls:
 *
 *   prepareUserns(spec, rootfs)  before anything is created: rootless checks,
 *     /etc/subuid and /etc/subgid coverage, mount option ids, rootfs reachability,
 *     and the choice of map writers (which tells the planner whether setgroups(2)
 *     will be allowed inside: PlanContext.setgroupsDenied);
 *   writeUsernsMaps(pid, spec, prep)  at the init's 'userns-maps' SYNC.
 *
 * Bad input fails in the first call, so it leaves no state dir, cgroup or process.
 */
import * as fs from 'fs';
import * as os from 'os';
import { CartonError } from '../common/errors';
import type { Spec } from '../oci/spec';
import { checkSubIdCoverage, chooseIdMapWriters, IdMapWriters, parseSubIds, readSetgroups, requireHelper, writeIdMaps, HelperRunner } from './idmap';
import { checkMountOptionIds, checkRootlessSpec, isRootless, runningInUserNs } from './rootless';
import { checkRootfsAccess } from './rootfs-access';

export interface UsernsPrep {
  /** The runtime runs rootless (see rootless.ts). */
  rootless: boolean;
  /**
   * The runtime itself runs in a user namespace (root of a nested one): mknod is
   * refused even without a user namespace in the config, so devices are bound from
   * the host (PlanContext.hostDevicesForFallback).
   */
  runtimeInUserNs: boolean;
  /** Set when the container creates a user namespace: how its maps get written. */
  writers?: IdMapWriters;
  /** setgroups(2) is denied in the new namespace: the plan must not call it. */
  setgroupsDenied: boolean;
  /** Lines for the user (stderr), e.g. a rootfs the container's root does not own. */
  warnings: string[];
}

export interface HostFacts {
  euid: number;
  egid: number;
  userName?: string;
  subuid?: string;
  subgid?: string;
  groups?: number[];
  rootless?: boolean;
  inUserNs?: boolean;
  /** /proc/self/setgroups of the runtime. */
  setgroups?: 'allow' | 'deny';
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function hostFacts(): HostFacts {
  const euid = process.geteuid?.() ?? 0;
  let userName: string | undefined;
  try {
    userName = os.userInfo().username;
  } catch {
    userName = undefined;
  }
  return {
    euid,
    egid: process.getegid?.() ?? 0,
    userName,
    subuid: euid === 0 ? '' : readOr('/etc/subuid'),
    subgid: euid === 0 ? '' : readOr('/etc/subgid'),
    groups: process.getgroups?.() ?? [],
  };
}

export function prepareUserns(spec: Spec, rootfs: string, facts: HostFacts = hostFacts()): UsernsPrep {
  const rootless = facts.rootless ?? isRootless(facts.euid);
  const runtimeInUserNs = facts.inUserNs ?? runningInUserNs();
  const linux = spec.linux ?? {};
  const userns = (linux.namespaces ?? []).find((n) => n.type === 'user');
  const creates = !!userns && !userns.path;
  if (!creates) {
    // The container stays in the runtime's user namespace (or joins one): whatever that denies applies.
    const denied = (facts.setgroups ?? readSetgroups('self')) === 'deny';
    checkRootlessSpec(spec, { euid: facts.euid, setgroupsDenied: denied && !userns });
    return { rootless, runtimeInUserNs, setgroupsDenied: denied && !userns, warnings: [] };
  }
  const uidMappings = linux.uidMappings ?? [];
  const gidMappings = linux.gidMappings ?? [];
  if (facts.euid !== 0) {
    const name = facts.userName ?? String(facts.euid);
    checkSubIdCoverage('uid', uidMappings, parseSubIds(facts.subuid ?? '', facts.userName, facts.euid), facts.euid, name);
    checkSubIdCoverage('gid', gidMappings, parseSubIds(facts.subgid ?? '', facts.userName, facts.egid), facts.egid, name);
  }
  const writers = chooseIdMapWriters({ euid: facts.euid, egid: facts.egid }, uidMappings, gidMappings);
  // A missing helper is a config-time error, not a half-made container.
  if (writers.uid === 'helper') requireHelper('uid');
  if (writers.gid === 'helper') requireHelper('gid');
  checkRootlessSpec(spec, { euid: facts.euid, setgroupsDenied: writers.denySetgroups });
  checkMountOptionIds(spec);
  const warnings = checkRootfsAccess(spec, rootfs, facts.groups);
  return { rootless, runtimeInUserNs, writers, setgroupsDenied: writers.denySetgroups, warnings };
}

/**
 * Write the maps of the init's new user namespace, then make sure setgroups ended
 * up as the plan assumed (newgidmap decides it on its own).
 */
export function writeUsernsMaps(pid: number, spec: Spec, prep: UsernsPrep, run?: HelperRunner): void {
  if (!prep.writers) throw new CartonError('EINTERNAL', 'userns-maps: no map writers prepared (prepareUserns not called)');
  writeIdMaps(pid, spec.linux?.uidMappings, spec.linux?.gidMappings, prep.writers, run);
  if (!prep.setgroupsDenied && readSetgroups(pid) === 'deny') {
    throw new CartonError(
      'EKERNEL',
      'linux.gidMappings: newgidmap denied setgroups in the new user namespace, so process.user cannot be set up as planned',
      { hint: 'map gids from /etc/subgid in linux.gidMappings' },
    );
  }
}
