/**
 * Applying a resource plan to real cgroup directories: the writes in order (with the
 * fallbacks and retries the plan asks for), controllers enabled along a cgroup2 path,
 * and the v2 device program handed to the native addon. Every kernel refusal becomes
 * a CartonError naming the config field: "linux.resources.memory.limit: write
 * memory.limit_in_bytes=1024: device or resource busy".
 */
import * as path from 'path';
import { CartonError, nodeErrorReason } from '../common/errors';
import { addon } from '../native/addon';
import { errnoCode, tryRead, writeCgroupFile } from './cgfs';
import { hostLayout, UNIFIED } from './detect';
import type { CgroupWrite, ControllerPlacement, DeviceProgram, ResourcePlan } from './writes';

let v2Controllers: Set<string> | undefined;

/** Controllers the cgroup2 hierarchy offers at its root (read once per process). */
function rootV2Controllers(): Set<string> {
  if (!v2Controllers) {
    const h = hostLayout().hierarchies.find((x) => x.version === 2);
    const text = h ? tryRead(h.mountPoint, 'cgroup.controllers') ?? '' : '';
    v2Controllers = new Set(text.split(/\s+/).filter(Boolean));
  }
  return v2Controllers;
}

/** Where each controller lives, from the manager's paths and the host's cgroup2 root. */
export function controllerPlacement(paths: Record<string, string>): ControllerPlacement {
  const v1 = new Set(Object.keys(paths).filter((k) => k !== UNIFIED && !k.startsWith('name=')));
  return { v1, v2: paths[UNIFIED] ? rootV2Controllers() : undefined };
}

/**
 * Enable controllers in cgroup.subtree_control from the cgroup2 root down to the
 * leaf's parent, so the leaf gets the controller files. Pure v2: every controller the
 * root offers (stats need memory, cpu, io, pids even without limits). Hybrid: only the
 * ones the plan writes to, so the host's shared cgroup2 tree changes as little as can be.
 * Failures are left for the writes to report (with a hint), as some levels may hold
 * processes and refuse (the no-internal-process rule).
 */
export function enableV2Controllers(leaf: string, plan: ResourcePlan, pureV2: boolean): void {
  const h = hostLayout().hierarchies.find((x) => x.version === 2);
  if (!h) return;
  const wanted = pureV2
    ? [...rootV2Controllers()]
    : [...new Set(plan.writes.filter((w) => w.hierarchy === UNIFIED).map((w) => w.file.slice(0, w.file.indexOf('.'))))]
      .filter((c) => c !== 'cgroup');
  if (wanted.length === 0) return;
  const root = h.mountPoint.replace(/\/+$/, '');
  const rel = path.posix.relative(root, path.posix.dirname(leaf));
  if (rel.startsWith('..')) return;
  const levels = [root];
  if (rel !== '') for (const part of rel.split('/')) levels.push(path.posix.join(levels[levels.length - 1], part));
  for (const dir of levels) {
    const enabled = new Set((tryRead(dir, 'cgroup.subtree_control') ?? '').split(/\s+/));
    const available = new Set((tryRead(dir, 'cgroup.controllers') ?? '').split(/\s+/));
    for (const c of wanted) {
      if (enabled.has(c) || !available.has(c)) continue;
      try {
        writeCgroupFile(dir, 'cgroup.subtree_control', `+${c}`);
      } catch {
        // reported by the write that needs it
      }
    }
  }
}

function hintFor(w: CgroupWrite, code: string | undefined, dir: string): string | undefined {
  if (code === 'ENOENT' && w.hierarchy === UNIFIED) {
    const c = w.file.slice(0, w.file.indexOf('.'));
    return `the ${c} controller is not enabled for ${dir} (cgroup.subtree_control of its parent)`;
  }
  if (code === 'ENOENT' && w.file === 'memory.memsw.limit_in_bytes') return 'swap accounting is off (boot with swapaccount=1)';
  if (code === 'ENOENT' && /weight/.test(w.file)) return 'I/O weights need the BFQ scheduler on the device';
  if (code === 'EBUSY' && /^memory\./.test(w.file)) return 'the processes in the cgroup already use more memory than that';
  if ((code === 'EINVAL' || code === 'ERANGE') && /^cpuset\./.test(w.file)) return 'the CPUs/memory nodes must exist and lie within the parent cgroup\'s cpuset';
  return undefined;
}

function fieldError(w: CgroupWrite, file: string, value: string, err: unknown, dir: string): CartonError {
  return new CartonError('EKERNEL', `${w.field}: write ${file}=${value}: ${nodeErrorReason(err)}`, {
    cause: err,
    hint: hintFor(w, errnoCode(err), dir),
  });
}

/** Write one plan entry; false when it was skipped because the knob is missing. */
function writeOne(paths: Record<string, string>, w: CgroupWrite): void {
  const dir = paths[w.hierarchy];
  if (!dir) throw new CartonError('EINTERNAL', `${w.field}: no cgroup directory for the ${w.hierarchy} hierarchy`);
  const tries = [{ file: w.file, value: w.value }, ...(w.fallbacks ?? [])];
  for (let i = 0; i < tries.length; i++) {
    try {
      writeCgroupFile(dir, tries[i].file, tries[i].value);
      return;
    } catch (err) {
      const missing = errnoCode(err) === 'ENOENT';
      if (missing && i + 1 < tries.length) continue;
      if (missing && w.ifExists) return;
      // Name the first file tried: that is what the user's field maps to.
      throw fieldError(w, tries[missing ? 0 : i].file, tries[missing ? 0 : i].value, err, dir);
    }
  }
}

/** Apply the writes in order; a write marked retryAfterOthers that gets EINVAL goes last. */
export function applyPlan(paths: Record<string, string>, plan: ResourcePlan): void {
  const later: CgroupWrite[] = [];
  for (const w of plan.writes) {
    try {
      writeOne(paths, w);
    } catch (err) {
      const cause = err instanceof CartonError ? err.cause : err;
      if (w.retryAfterOthers && errnoCode(cause) === 'EINVAL') later.push(w);
      else throw err;
    }
  }
  for (const w of later) writeOne(paths, w);
}

/** Whether v2 device rules can be enforced in this build (the native addon loads and has the call). */
export function canLoadDevicePrograms(): boolean {
  try {
    return typeof addon().bpfReplaceCgroupDevice === 'function';
  } catch {
    return false;
  }
}

export function loadDeviceProgram(dir: string, prog: DeviceProgram): void {
  let native: ReturnType<typeof addon>;
  try {
    native = addon();
  } catch (err) {
    throw new CartonError('EUNSUPPORTED', `${prog.field}: cgroup v2 device rules need the native addon: ${(err as Error).message}`, { cause: err });
  }
  try {
    native.bpfReplaceCgroupDevice(dir, prog.insns);
  } catch (err) {
    throw new CartonError('EKERNEL', `${prog.field}: load the device eBPF program into ${dir}: ${nodeErrorReason(err)}`, { cause: err });
  }
}
