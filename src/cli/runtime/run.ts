/** carton-runtime run [--bundle DIR] [--detach] [--keep] [--pid-file F] [--console-socket S] ID */
import type { FlagSpec } from '../args';
import { runContainer } from '../../runtime/run';
import { CONTAINER_FLAGS, containerOptions } from './container-flags';
import { Globals, parseCommand } from './globals';

const FLAGS: FlagSpec[] = [
  ...CONTAINER_FLAGS,
  { name: 'detach', short: 'd', type: 'bool', help: 'detach from the container process' },
  { name: 'keep', type: 'bool', help: 'keep the container state after it exits (foreground only)' },
];

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand({ name: 'run', usage: '[command options] <container-id>', flags: FLAGS, minArgs: 1, maxArgs: 1 }, argv);
  if (!p) return 0;
  const v = p.values;
  return runContainer({ ...containerOptions(p.positionals[0], v, g), detach: !!v.detach, keep: !!v.keep });
}
