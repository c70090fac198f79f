/**
 * linux.sysctl → writes under the container's /proc/sys. Which names are
 * allowed was decided by validateSpec (only namespaced ones).
 */
import type { Spec } from '../oci/spec';
import { sysctlPath } from '../oci/validate-sysctl';
import { Op, OpCode } from './ops';

export function sysctlOps(spec: Spec): Op[] {
  return Object.entries(spec.linux?.sysctl ?? {}).map(([name, value]) => ({
    op: OpCode.WRITE_FILE,
    path: sysctlPath(name),
    content: value,
    source: `linux.sysctl[${JSON.stringify(name)}]`,
  }));
}
