/**
 * The plan that runs one createContainer or startContainer hook "in the container
 * namespace" (runtime-spec): carton-init joins the namespaces the container has of its
 * own (user first, becoming root there, as the container's own init is), forks into its
 * pid namespace, and the child execs the hook with its own argv and env while the
 * parent waits and reports the exit status, as for exec.
 */
import type { Hook } from '../oci/spec';
import { execNamespaceOps } from './namespaces';
import { ForkMode, Op, OpCode } from './ops';

/**
 * `joins`: the namespace types (runtime-spec names) in which the container differs from
 * the runtime, found by the caller. `where` names the hook in errors: hooks.startContainer[0] (/bin/x).
 */
export function buildHookPlan(hook: Hook, where: string, containerPid: number, joins: readonly string[]): Op[] {
  const ops: Op[] = [];
  for (const op of execNamespaceOps(containerPid, joins).beforeFork) {
    ops.push({ ...op, source: where });
    if (op.op === OpCode.SETNS && op.path.endsWith('/ns/user')) {
      ops.push({ op: OpCode.SET_USER, uid: 0, gid: 0, setGroups: false, groups: [], source: where });
    }
  }
  ops.push({ op: OpCode.FORK, mode: ForkMode.WAIT, source: where });
  // Its own process group: a timeout kills the hook and what it started.
  ops.push({ op: OpCode.SETSID, source: where });
  ops.push({ op: OpCode.PROGRAM, path: hook.path, source: where });
  const argv = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  ops.push({ op: OpCode.EXEC, argv, env: hook.env ?? [], source: where });
  return ops;
}
