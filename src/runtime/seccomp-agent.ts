/**
 * What a seccomp agent (linux.seccomp.listenerPath) receives with the notify fd: the
 * runtime-spec's ContainerProcessState. The init sends it, as the payload of the
 * seccomp-listener SYNC's CONTINUE, in the same message as the fd (SCM_RIGHTS).
 */
import type { ContainerStatus, Spec } from '../oci/spec';
import type { ContainerRecord } from './store';
import { stateJson } from './status';

export interface ContainerProcessState {
  ociVersion: string;
  /** Names of the fds sent along, in order: only the notify fd. */
  fds: string[];
  /** The process the filter applies to (the container's, or the exec'd one). */
  pid: number;
  metadata: string;
  state: ReturnType<typeof stateJson>;
}

export function seccompAgentPayload(spec: Spec, record: ContainerRecord, pid: number, status: ContainerStatus): Buffer {
  const state = stateJson(record, status);
  const msg: ContainerProcessState = {
    ociVersion: state.ociVersion,
    fds: ['seccompFd'],
    pid,
    metadata: spec.linux?.seccomp?.listenerMetadata ?? '',
    state,
  };
  return Buffer.from(JSON.stringify(msg));
}
