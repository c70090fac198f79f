/** carton-runtime pause ID: freeze every process of the container. */
import { pauseContainer } from '../../runtime/control';
import { Globals, parseCommand } from './globals';

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand({ name: 'pause', usage: '<container-id>', flags: [], minArgs: 1, maxArgs: 1 }, argv);
  if (!p) return 0;
  await pauseContainer(g.root, p.positionals[0]);
  return 0;
}
