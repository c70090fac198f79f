/** carton-runtime update [--resources FILE|-] [limit flags] ID */
import * as fs from 'fs';
import type { FlagSpec } from '../args';
import { CartonError } from '../../common/errors';
import type { LinuxResources } from '../../oci/spec';
import { parseBytes, updateContainer } from '../../runtime/control';
import { checkUpdateResources, integerFlag } from '../../runtime/update-resources';
import { Globals, parseCommand } from './globals';

const FLAGS: FlagSpec[] = [
  { name: 'resources', short: 'r', type: 'string', value: 'FILE', help: 'path to a LinuxResources JSON file, or - for stdin' },
  { name: 'memory', type: 'string', value: 'BYTES', help: 'memory limit (e.g. 100m)' },
  { name: 'memory-reservation', type: 'string', value: 'BYTES', help: 'memory soft limit' },
  { name: 'memory-swap', type: 'string', value: 'BYTES', help: 'memory + swap limit (-1: unlimited)' },
  { name: 'cpu-shares', type: 'number', value: 'N', help: 'CPU shares (relative weight)' },
  { name: 'cpu-quota', type: 'number', value: 'US', help: 'CPU CFS quota per period, in microseconds' },
  { name: 'cpu-period', type: 'number', value: 'US', help: 'CPU CFS period, in microseconds' },
  { name: 'cpu-rt-period', type: 'number', value: 'US', help: 'CPU realtime period' },
  { name: 'cpu-rt-runtime', type: 'number', value: 'US', help: 'CPU realtime runtime' },
  { name: 'cpuset-cpus', type: 'string', value: 'LIST', help: 'CPUs allowed (0-3, 0,1)' },
  { name: 'cpuset-mems', type: 'string', value: 'LIST', help: 'memory nodes allowed' },
  { name: 'pids-limit', type: 'number', value: 'N', help: 'maximum number of pids (-1: unlimited)' },
  { name: 'blkio-weight', type: 'number', value: 'N', help: 'block IO weight (10-1000)' },
];

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand({ name: 'update', usage: '[command options] <container-id>', flags: FLAGS, minArgs: 1, maxArgs: 1 }, argv);
  if (!p) return 0;
  const v = p.values;
  let r: LinuxResources = {};
  if (v.resources) {
    const src = v.resources as string;
    let text: string;
    try {
      text = fs.readFileSync(src === '-' ? 0 : src, 'utf8');
    } catch (err) {
      throw new CartonError('ENOTFOUND', `--resources (${src}): ${(err as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new CartonError('EINVAL_CONFIG', `--resources (${src}): invalid JSON: ${(err as Error).message}`);
    }
    // Every field type-checked before anything is written: "abc" must not reach a cgroup file as NaN.
    try {
      r = checkUpdateResources(raw);
    } catch (err) {
      throw new CartonError('EINVAL_CONFIG', `--resources (${src}): ${(err as Error).message}`);
    }
  }
  // The argument parser accepts any number; cgroup values are whole (-1: unlimited where allowed).
  const int = (flag: string, min: number): number => integerFlag(flag, v[flag] as number, { min });
  const mem = (flag: string, key: 'limit' | 'reservation' | 'swap'): void => {
    if (v[flag] !== undefined) (r.memory ??= {})[key] = parseBytes(flag, v[flag] as string);
  };
  mem('memory', 'limit');
  mem('memory-reservation', 'reservation');
  mem('memory-swap', 'swap');
  const cpu = (flag: string, key: 'shares' | 'quota' | 'period' | 'realtimePeriod' | 'realtimeRuntime', min: number): void => {
    if (v[flag] !== undefined) (r.cpu ??= {})[key] = int(flag, min);
  };
  cpu('cpu-shares', 'shares', 0);
  cpu('cpu-quota', 'quota', -1);
  cpu('cpu-period', 'period', 0);
  cpu('cpu-rt-period', 'realtimePeriod', 0);
  cpu('cpu-rt-runtime', 'realtimeRuntime', -1);
  if (v['cpuset-cpus'] !== undefined) (r.cpu ??= {}).cpus = v['cpuset-cpus'] as string;
  if (v['cpuset-mems'] !== undefined) (r.cpu ??= {}).mems = v['cpuset-mems'] as string;
  if (v['pids-limit'] !== undefined) r.pids = { limit: int('pids-limit', -1) };
  if (v['blkio-weight'] !== undefined) r.blockIO = { weight: int('blkio-weight', 0) };
  await updateContainer(g.root, p.positionals[0], r);
  return 0;
}
