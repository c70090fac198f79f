/**
 * The container's status, derived from the host every time it is asked (never
 * stored): a recorded pid whose start time no longer matches is a different
 * process, so the container is stopped even though "the pid is alive".
 */
import * as fs from 'fs';
import { OCI_VERSION } from '../oci/spec';
import type { ContainerStatus, State } from '../oci/spec';
import { isSameLiveProcess } from './proc';
import type { ContainerRecord, StateStore } from './store';

export function deriveStatus(store: StateStore, rec: ContainerRecord): ContainerStatus {
  if (!rec.pid) return 'creating';
  if (!isSameLiveProcess(rec.pid, rec.pidStartTime)) return 'stopped';
  // Frozen first: a created container can be paused too (runc), and must then say so.
  if (isFrozen(rec.cgroupPaths)) return 'paused';
  if (fs.existsSync(store.fifoPath(rec.id))) return 'created';
  return 'running';
}

/** v1: freezer.state says FROZEN; v2: cgroup.freeze is 1. */
export function isFrozen(paths: Record<string, string>): boolean {
  const freezer = paths.freezer;
  if (freezer) {
    try {
      return fs.readFileSync(`${freezer}/freezer.state`, 'utf8').trim() === 'FROZEN';
    } catch {
      return false;
    }
  }
  const unified = paths[''] ?? paths.unified;
  if (unified) {
    try {
      return fs.readFileSync(`${unified}/cgroup.freeze`, 'utf8').trim() === '1';
    } catch {
      return false;
    }
  }
  return false;
}

/** The runtime-spec state JSON (`state` command, hooks' stdin), in runc's field set. */
export function stateJson(rec: ContainerRecord, status: ContainerStatus): State & Record<string, unknown> {
  return {
    ociVersion: OCI_VERSION,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    annotations: rec.annotations ?? {},
    owner: rec.owner ?? '',
  };
}
