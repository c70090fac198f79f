/** carton-runtime start ID */
import { startContainer } from '../../runtime/lifecycle';
import { Globals, parseCommand } from './globals';
import { logWarn } from './log';

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand({ name: 'start', usage: '<container-id>', flags: [], minArgs: 1, maxArgs: 1 }, argv);
  if (!p) return 0;
  await startContainer(g.root, p.positionals[0], (m) => logWarn(g, m));
  return 0;
}
