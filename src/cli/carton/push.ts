/** `carton push [--tls-verify=false] NAME[:TAG]` with Docker's progress lines. */
import { CliContext, argCountError, bool, parseCommand, str } from './context';

const HELP = {
  usage: 'push [OPTIONS] NAME[:TAG]',
  description: 'Upload an image to a registry',
  flags: [
    { name: 'quiet', short: 'q', type: 'bool' as const, help: 'Suppress verbose output' },
    { name: 'tls-verify', type: 'string' as const, value: 'bool', help: 'Require HTTPS and verify certificates (default true)' },
    { name: 'authfile', type: 'string' as const, value: 'path', help: 'Path of the authentication file' },
  ],
};

export async function pushCommand(argv: string[], ctx: CliContext, name = 'push'): Promise<number> {
  const p = parseCommand(name, argv, HELP, ctx);
  if (!p) return 0;
  if (p.positionals.length < 1 || p.positionals.length > 2) throw argCountError(name, HELP.usage, 'exactly 1 argument');
  const { push } = require('../../image/push') as typeof import('../../image/push');
  const { ProgressRenderer } = require('../../image/progress') as typeof import('../../image/progress');
  const renderer = new ProgressRenderer(process.stdout, { quiet: bool(p, 'quiet') });
  const tls = str(p, 'tls-verify');
  const result = await push(p.positionals[0], {
    store: ctx.store(),
    destination: p.positionals[1],
    tlsVerify: tls === undefined ? undefined : !/^(0|f|false)$/i.test(tls),
    authFile: str(p, 'authfile'),
    onProgress: renderer.handle,
  });
  if (bool(p, 'quiet')) ctx.out(`${result.reference}\n`);
  return 0;
}
