/** carton-runtime list [--format table|json] [--quiet] */
import { stdout } from './out';
import { CartonError } from '../../common/errors';
import { listContainers } from '../../runtime/lifecycle';
import { Globals, parseCommand } from './globals';

export function main(argv: string[], g: Globals): number {
  const p = parseCommand(
    {
      name: 'list',
      usage: '[command options]',
      flags: [
        { name: 'format', short: 'f', type: 'string', value: 'table|json', default: 'table', help: 'output format: table or json' },
        { name: 'quiet', short: 'q', type: 'bool', help: 'display only container IDs' },
      ],
      minArgs: 0,
      maxArgs: 0,
    },
    argv,
  );
  if (!p) return 0;
  const list = listContainers(g.root);
  if (p.values.quiet) {
    stdout(list.map((c) => `${c.id}\n`).join(''));
    return 0;
  }
  const format = p.values.format;
  if (format === 'json') {
    stdout(`${JSON.stringify(list)}\n`);
    return 0;
  }
  if (format !== 'table') throw new CartonError('EINVAL_CONFIG', `--format: invalid format "${String(format)}" (table or json)`);
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...list.map((c) => [c.id, String(c.pid), c.status, c.bundle, c.created, c.owner])];
  stdout(table(rows));
  return 0;
}

/** Columns padded like Go's tabwriter(minwidth 12, padding 3) as runc prints them. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(12, ...rows.map((r) => r[i].length + 3)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('') + '\n').join('');
}
