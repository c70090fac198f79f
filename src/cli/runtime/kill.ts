/** carton-runtime kill [--all] ID [SIGNAL] */
import { killContainer } from '../../runtime/lifecycle';
import { parseSignal } from '../../runtime/signals';
import { Globals, parseCommand } from './globals';

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand(
    {
      name: 'kill',
      usage: '[command options] <container-id> [signal]',
      flags: [{ name: 'all', short: 'a', type: 'bool', help: 'send the signal to every process in the container' }],
      minArgs: 1,
      maxArgs: 2,
      description: 'SIGNAL is a name (TERM, SIGTERM) or a number (15); the default is SIGTERM.',
    },
    argv,
  );
  if (!p) return 0;
  const signal = parseSignal(p.positionals[1] ?? 'SIGTERM');
  await killContainer(g.root, p.positionals[0], signal, { all: !!p.values.all });
  return 0;
}
