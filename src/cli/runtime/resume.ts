/** carton-runtime resume ID: thaw a paused container. */
import { resumeContainer } from '../../runtime/control';
import { Globals, parseCommand } from './globals';

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand({ name: 'resume', usage: '<container-id>', flags: [], minArgs: 1, maxArgs: 1 }, argv);
  if (!p) return 0;
  await resumeContainer(g.root, p.positionals[0]);
  return 0;
}
