/** carton-runtime create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] ID */
import type { FlagSpec } from '../args';
import { createContainer } from '../../runtime/create';
import { CONTAINER_FLAGS, containerOptions } from './container-flags';
import { Globals, parseCommand } from './globals';

/** create has no flags beyond the shared container ones. */
export const CREATE_FLAGS: FlagSpec[] = [...CONTAINER_FLAGS];

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand({ name: 'create', usage: '[command options] <container-id>', flags: CREATE_FLAGS, minArgs: 1, maxArgs: 1 }, argv);
  if (!p) return 0;
  await createContainer({ ...containerOptions(p.positionals[0], p.values, g), mode: 'create' });
  return 0;
}
