/** ps: the container's host pids (from its cgroup), as JSON or as `ps -ef` filtered to them. */
import { spawnSync } from 'child_process';
import { CartonError } from '../common/errors';
import { cgroupPids, loadContainer } from './lifecycle';

export async function containerPids(root: string | undefined, id: string): Promise<number[]> {
  const { record } = loadContainer(root, id);
  return (await cgroupPids(record)).sort((a, b) => a - b);
}

/** `ps` output (default `-ef`) keeping the header and the container's processes. */
export async function psTable(root: string | undefined, id: string, psArgs: string[] = ['-ef']): Promise<string> {
  const pids = new Set(await containerPids(root, id));
  const res = spawnSync('ps', psArgs, { encoding: 'utf8' });
  if (res.status !== 0) throw new CartonError('EINTERNAL', `ps ${psArgs.join(' ')}: ${res.stderr || res.error?.message}`);
  const lines = res.stdout.split('\n');
  const header = lines[0] ?? '';
  const pidCol = header.trim().split(/\s+/).indexOf('PID');
  if (pidCol < 0) throw new CartonError('EINVAL_CONFIG', `ps ${psArgs.join(' ')}: output has no PID column`);
  const rows = lines.slice(1).filter((l) => l.trim() && pids.has(Number(l.trim().split(/\s+/)[pidCol])));
  return [header, ...rows].join('\n') + '\n';
}
