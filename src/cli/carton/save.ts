/** `carton save [-o FILE] [--format docker-archive|oci-archive|oci-dir] IMAGE...`. */
import { CartonError } from '../../common/errors';
import { CliContext, argCountError, parseCommand, str } from './context';

const HELP = {
  usage: 'save [OPTIONS] IMAGE [IMAGE...]',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  flags: [
    { name: 'output', short: 'o', type: 'string' as const, value: 'string', help: 'Write to a file, instead of STDOUT' },
    { name: 'format', type: 'string' as const, value: 'string', default: 'docker-archive', help: 'docker-archive (default), oci-archive or oci-dir' },
  ],
};

export async function saveCommand(argv: string[], ctx: CliContext): Promise<number> {
  const p = parseCommand('save', argv, HELP, ctx);
  if (!p) return 0;
  if (p.positionals.length === 0) throw argCountError('save', HELP.usage, 'at least 1 argument');
  const format = str(p, 'format') as 'docker-archive' | 'oci-archive' | 'oci-dir';
  if (!['docker-archive', 'oci-archive', 'oci-dir'].includes(format)) {
    throw new CartonError('EINVAL_CONFIG', `unsupported format "${format}": use docker-archive, oci-archive or oci-dir`, { exitCode: 125 });
  }
  const archive = require('../../archive/save') as typeof import('../../archive/save');
  const store = ctx.store();
  const items = archive.saveItems(store, p.positionals);
  const output = str(p, 'output');
  if (output !== undefined) {
    await archive.saveImages(store, items, output, format);
    return 0;
  }
  if (format === 'oci-dir') throw new CartonError('EINVAL_CONFIG', '--format oci-dir needs -o DIR', { exitCode: 125 });
  if (process.stdout.isTTY) {
    throw new CartonError('EINVAL_CONFIG', 'cowardly refusing to save to a terminal. Use the -o flag or redirect', { exitCode: 1 });
  }
  await archive.saveImagesToStream(store, items, process.stdout, format);
  return 0;
}
