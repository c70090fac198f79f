/** `carton pull [-q] [--platform P] NAME[:TAG|@DIGEST]` with Docker's progress output. */
import { formatReference, parseReference } from '../../image/reference';
import { CliContext, argCountError, bool, parseCommand, str } from './context';
import { pullImage } from './image-source';

const HELP = {
  usage: 'pull [OPTIONS] NAME[:TAG|@DIGEST]',
  description: 'Download an image from a registry',
  flags: [
    { name: 'quiet', short: 'q', type: 'bool' as const, help: 'Suppress verbose output' },
    { name: 'platform', type: 'string' as const, value: 'string', help: 'Set platform if server is multi-platform capable' },
    { name: 'tls-verify', type: 'string' as const, value: 'bool', help: 'Require HTTPS and verify certificates (default true)' },
    { name: 'all-tags', short: 'a', type: 'bool' as const, help: 'Download all tagged images in the repository', hidden: true },
  ],
};

export async function pullCommand(argv: string[], ctx: CliContext, name = 'pull'): Promise<number> {
  const p = parseCommand(name, argv, HELP, ctx);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw argCountError(name, HELP.usage, 'exactly 1 argument');
  const ref = parseReference(p.positionals[0]);
  const tls = str(p, 'tls-verify');
  await pullImage(ctx, p.positionals[0], process.stdout, {
    quiet: bool(p, 'quiet'),
    platform: str(p, 'platform'),
    tlsVerify: tls === undefined ? undefined : !/^(0|f|false)$/i.test(tls),
  });
  if (bool(p, 'quiet')) ctx.out(`${formatReference(ref)}\n`);
  return 0;
}
