/** `carton load [-i FILE] [-q]`: docker-archive or OCI layout (tar or directory), from a file or stdin. */
import { CliContext, bool, parseCommand, str } from './context';
import { familiar } from './rmi';

const HELP = {
  usage: 'load [OPTIONS]',
  description: 'Load an image from a tar archive or STDIN',
  flags: [
    { name: 'input', short: 'i', type: 'string' as const, value: 'string', help: 'Read from tar archive file, instead of STDIN' },
    { name: 'quiet', short: 'q', type: 'bool' as const, help: 'Suppress the load output' },
  ],
};

export async function loadCommand(argv: string[], ctx: CliContext): Promise<number> {
  const p = parseCommand('load', argv, HELP, ctx);
  if (!p) return 0;
  const archive = require('../../archive/load') as typeof import('../../archive/load');
  const input = str(p, 'input');
  const result = input !== undefined ? await archive.loadArchive(ctx.store(), input) : await archive.loadArchiveStream(ctx.store(), process.stdin);
  if (!bool(p, 'quiet')) {
    for (const line of result.lines) ctx.out(line.startsWith('Loaded image: ') ? `Loaded image: ${familiar(line.slice(14))}\n` : `${line}\n`);
  }
  return 0;
}
