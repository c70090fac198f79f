/**
 * The shape of a resource plan: OCI `linux.resources` turned into ordered file writes,
 * each carrying the config field it comes from so a kernel refusal can name it.
 * Shared by the v1 and v2 translators (resources-*.ts) and the manager that applies it.
 */

/** One write into a cgroup file. */
export interface CgroupWrite {
  /** Key of the directory in CgroupManager.paths: a v1 controller ("memory") or "unified". */
  hierarchy: string;
  file: string;
  value: string;
  /** The config field it comes from: "linux.resources.memory.limit". */
  field: string;
  /** Skip silently when the file does not exist (the kernel lacks that knob). */
  ifExists?: boolean;
  /** Tried in order when `file` does not exist (blkio.weight vs blkio.bfq.weight). */
  fallbacks?: { file: string; value: string }[];
  /**
   * When the kernel says EINVAL, retry once after every other write: lowering
   * cpu.cfs_period_us can be refused until the new quota is in place.
   */
  retryAfterOthers?: boolean;
}

/** A field Carton accepted but did not apply, and why (logged as a warning). */
export interface ResourceNote {
  field: string;
  message: string;
}

/** A compiled eBPF device program for a v2 cgroup. */
export interface DeviceProgram {
  hierarchy: string;
  field: string;
  /** BPF_PROG_TYPE_CGROUP_DEVICE instructions, 8 bytes each. */
  insns: Buffer;
}

export interface ResourcePlan {
  writes: CgroupWrite[];
  notes: ResourceNote[];
  devices?: DeviceProgram;
}

/**
 * Where each controller lives. `v1` lists the controllers mounted as v1 hierarchies;
 * `v2` lists the controllers the cgroup2 hierarchy offers (cgroup.controllers of its
 * root), or is absent when no cgroup2 is mounted. A controller present in both goes
 * to v1 (that is where hybrid hosts bind it).
 */
export interface ControllerPlacement {
  v1: ReadonlySet<string>;
  v2?: ReadonlySet<string>;
}

/** Where a controller's files go: a paths key, or undefined when it is nowhere. */
export function placeController(p: ControllerPlacement, controller: string): { hierarchy: string; version: 1 | 2 } | undefined {
  if (p.v1.has(controller)) return { hierarchy: controller, version: 1 };
  if (p.v2 && p.v2.has(controller)) return { hierarchy: 'unified', version: 2 };
  return undefined;
}

/** Numbers as the kernel reads them (no exponent form for big values). */
export function num(n: number | bigint): string {
  return typeof n === 'bigint' ? n.toString() : Number.isInteger(n) ? BigInt(n).toString() : String(Math.trunc(n));
}
