/** Shared inputs for the planner tests (not a test file itself). */
import type { CgroupView, PlanContext, PlanExtras } from '../inputs';
import type { Op, OpCode } from '../ops';
import type { Spec } from '../../oci/spec';
import { validateSpec } from '../../oci/validate';
import assert from 'node:assert/strict';

export const HYBRID: CgroupView = {
  kind: 'hybrid',
  mounts: [
    { subdir: 'cpu', hostPath: '/sys/fs/cgroup/cpu/c1' },
    { subdir: 'memory', hostPath: '/sys/fs/cgroup/memory/c1' },
    { subdir: 'unified', hostPath: '/sys/fs/cgroup/unified/c1' },
  ],
  links: [{ name: 'cpuacct', target: 'cpu' }],
};
export const V2: CgroupView = { kind: 'v2', mounts: [{ subdir: '', hostPath: '/sys/fs/cgroup/c1' }], links: [] };

export function ctx(over: Partial<PlanContext> = {}): PlanContext {
  return {
    mode: 'create', bundle: '/bundle', rootfs: '/bundle/rootfs', noPivot: false,
    fifoPath: '/run/carton-runtime/c1/exec.fifo', preserveFds: 0, cgroupView: HYBRID, ...over,
  };
}

export function extras(over: Partial<PlanExtras> = {}): PlanExtras {
  return { capLastCap: 40, bindSourceKinds: (p) => (/(hosts|hostname|resolv\.conf|containerenv|file)$/.test(p) ? 'file' : 'dir'), ...over };
}

/** A config with a bit of everything: joined network namespace, cgroup mount, sysctl, masks. */
export function base(): Spec {
  return validateSpec({
    ociVersion: '1.2.0',
    process: { user: { uid: 1000, gid: 1000, additionalGids: [10] }, args: ['sleep', '1'], cwd: '/work', env: ['PATH=/bin'],
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }] },
    root: { path: 'rootfs', readonly: true },
    hostname: 'c1',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['newinstance', 'ptmxmode=0666'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network', path: '/run/netns/n1' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      sysctl: { 'net.ipv4.ip_forward': '1' },
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
    },
  });
}

export const idx = (ops: Op[], pred: (o: Op) => boolean): number => ops.findIndex(pred);
export const first = (ops: Op[], code: OpCode): number => ops.findIndex((o) => o.op === code);
export const last = (ops: Op[], code: OpCode): number => ops.map((o) => o.op).lastIndexOf(code);
export const all = <C extends OpCode>(ops: Op[], code: C) => ops.filter((o): o is Extract<Op, { op: C }> => o.op === code);
export function before(_ops: Op[], a: number, b: number, what: string): void {
  assert.ok(a >= 0 && b >= 0 && a < b, `${what}: ${a} should come before ${b}`);
}
