/** `carton rm [-f] CONTAINER...`: Docker prints each removed name as given; failures exit 1. */
import { asCartonError } from '../../common/errors';
import { removeContainer } from '../../engine/remove';
import { CliContext, argCountError, bool, parseCommand } from './context';

const HELP = {
  usage: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Remove one or more containers',
  flags: [
    { name: 'force', short: 'f', type: 'bool' as const, help: 'Force the removal of a running container' },
    { name: 'volumes', short: 'v', type: 'bool' as const, help: 'Remove anonymous volumes associated with the container' },
  ],
};

export async function rmCommand(argv: string[], ctx: CliContext): Promise<number> {
  const p = parseCommand('rm', argv, HELP, ctx);
  if (!p) return 0;
  if (p.positionals.length === 0) throw argCountError('rm', HELP.usage, 'at least 1 argument');
  let code = 0;
  for (const q of p.positionals) {
    try {
      await removeContainer(ctx.root, ctx.runroot, q, bool(p, 'force'), bool(p, 'volumes'), () => ctx.store());
      ctx.out(`${q}\n`);
    } catch (err) {
      ctx.err(`${asCartonError(err).message}\n`);
      code = 1;
    }
  }
  return code;
}
