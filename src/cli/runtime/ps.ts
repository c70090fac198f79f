/** carton-runtime ps [--format table|json] ID [ps options] */
import { stdout } from './out';
import { CartonError } from '../../common/errors';
import { containerPids, psTable } from '../../runtime/ps';
import { Globals, parseCommand } from './globals';

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand(
    {
      name: 'ps',
      usage: '[command options] <container-id> [ps options]',
      flags: [{ name: 'format', short: 'f', type: 'string', value: 'table|json', default: 'table', help: 'output format: table or json' }],
      minArgs: 1,
      stopAtPositional: true,
    },
    argv,
  );
  if (!p) return 0;
  const [id, ...psArgs] = p.positionals;
  const format = p.values.format;
  if (format === 'json') {
    if (psArgs.length) throw new CartonError('EINVAL_CONFIG', 'ps options cannot be used with --format json');
    stdout(`${JSON.stringify(await containerPids(g.root, id))}\n`);
    return 0;
  }
  if (format !== 'table') throw new CartonError('EINVAL_CONFIG', `--format: invalid format "${String(format)}" (table or json)`);
  stdout(await psTable(g.root, id, psArgs.length ? psArgs : ['-ef']));
  return 0;
}
