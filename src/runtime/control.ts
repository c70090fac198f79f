/** pause, resume, update, stats: operations on a live container's cgroup. */
import { CartonError } from '../common/errors';
import type { LinuxResources } from '../oci/spec';
import { cgroupsForRecord } from './rootless-cgroups';
import { loadContainer } from './lifecycle';

export async function pauseContainer(root: string | undefined, id: string): Promise<void> {
  const { record, status } = loadContainer(root, id);
  if (status !== 'running' && status !== 'created') throw new CartonError('ESTATE', `container not running: ${id} is ${status}`);
  await cgroupsForRecord(record).freeze();
}

export async function resumeContainer(root: string | undefined, id: string): Promise<void> {
  const { record, status } = loadContainer(root, id);
  if (status !== 'paused') throw new CartonError('ESTATE', `container not paused: ${id} is ${status}`);
  await cgroupsForRecord(record).thaw();
}

/** Apply new limits and remember them, so a later `update` or `events` sees the current values. */
export async function updateContainer(root: string | undefined, id: string, resources: LinuxResources): Promise<void> {
  const { store, record, status } = loadContainer(root, id);
  if (status === 'stopped') throw new CartonError('ESTATE', `cannot update a stopped container: ${id}`);
  const lock = store.lock(id);
  try {
    await cgroupsForRecord(record).update(resources);
    const linux = (record.config.linux ??= {});
    const cur = (linux.resources ??= {});
    for (const [k, v] of Object.entries(resources) as [keyof LinuxResources, unknown][]) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        (cur as Record<string, unknown>)[k] = { ...((cur[k] as object) ?? {}), ...(v as object) };
      } else if (v !== undefined) {
        (cur as Record<string, unknown>)[k] = v;
      }
    }
    store.save(record);
  } finally {
    lock.release();
  }
}

export async function containerStats(root: string | undefined, id: string): Promise<unknown> {
  const { record, status } = loadContainer(root, id);
  if (status === 'stopped') throw new CartonError('ESTATE', `container not running: ${id}`);
  return await cgroupsForRecord(record).stats();
}

/** Sizes as runc's update takes them: bytes, or with a k/m/g/t suffix (powers of 1024); -1 is unlimited. */
export function parseBytes(flag: string, text: string): number {
  if (text === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new CartonError('EINVAL_CONFIG', `--${flag} (${text}): invalid size`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}
