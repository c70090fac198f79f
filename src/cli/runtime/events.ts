/** carton-runtime events [--stats] [--interval D] ID: stats (and OOM) events as JSON lines, runc's shape. */
import { stdout } from './out';
import { CartonError } from '../../common/errors';
import { containerStats } from '../../runtime/control';
import { loadContainer } from '../../runtime/lifecycle';
import { cgroupsFromState } from '../../runtime/deps';
import { Globals, parseCommand } from './globals';

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand(
    {
      name: 'events',
      usage: '[command options] <container-id>',
      flags: [
        { name: 'stats', type: 'bool', help: 'display the container stats once then exit' },
        { name: 'interval', type: 'string', value: 'DURATION', default: '5s', help: 'interval between stats (e.g. 5s, 500ms)' },
      ],
      minArgs: 1,
      maxArgs: 1,
    },
    argv,
  );
  if (!p) return 0;
  const id = p.positionals[0];
  const print = async (): Promise<void> => {
    const data = await containerStats(g.root, id);
    stdout(`${statsJson({ type: 'stats', id, data })}\n`);
  };
  if (p.values.stats) {
    await print();
    return 0;
  }
  const ms = parseDuration(p.values.interval as string);
  let oomSeen = false;
  for (;;) {
    const { record, status } = loadContainer(g.root, id);
    if (status === 'stopped') return 0;
    // An OOM kill shows as an event of its own, as runc reports it.
    let oom = false;
    try {
      oom = cgroupsFromState(record.cgroupPaths).oomKilled();
    } catch {
      /* no memory controller */
    }
    if (oom && !oomSeen) stdout(`${JSON.stringify({ type: 'oom', id })}\n`);
    oomSeen = oom;
    await print();
    await new Promise((r) => setTimeout(r, ms));
  }
}

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new CartonError('EINVAL_CONFIG', `--interval (${text}): invalid duration (e.g. 5s, 500ms)`);
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  if (n <= 0) throw new CartonError('EINVAL_CONFIG', `--interval (${text}): must be positive`);
  return n;
}

/**
 * JSON with integers past 2^53 written digit for digit, as Go prints uint64: the kernel's
 * "unlimited" (2^63 - 4096) is exact as a double, but JS would print it as 9223372036854772000.
 */
export function statsJson(value: unknown): string {
  const mark = '\u0000u64:';
  const text = JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'number' && Number.isInteger(v) && Math.abs(v) > Number.MAX_SAFE_INTEGER ? `${mark}${BigInt(v)}` : v,
  );
  return text.replace(/"\\u0000u64:(-?\d+)"/g, '$1');
}
