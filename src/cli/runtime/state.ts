/** carton-runtime state ID: the runtime-spec state JSON. */
import { stdout } from './out';
import { containerState } from '../../runtime/lifecycle';
import { Globals, parseCommand } from './globals';

export function main(argv: string[], g: Globals): number {
  const p = parseCommand({ name: 'state', usage: '<container-id>', flags: [], minArgs: 1, maxArgs: 1 }, argv);
  if (!p) return 0;
  stdout(`${JSON.stringify(containerState(g.root, p.positionals[0]), null, 2)}\n`);
  return 0;
}
