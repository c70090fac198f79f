/** carton-runtime delete [--force] ID */
import { deleteContainer } from '../../runtime/lifecycle';
import { Globals, parseCommand } from './globals';
import { logWarn } from './log';

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand(
    {
      name: 'delete',
      usage: '[command options] <container-id>',
      flags: [{ name: 'force', short: 'f', type: 'bool', help: 'forcibly delete the container if it is still running (uses SIGKILL)' }],
      minArgs: 1,
      maxArgs: 1,
    },
    argv,
  );
  if (!p) return 0;
  await deleteContainer(g.root, p.positionals[0], { force: !!p.values.force, warn: (m) => logWarn(g, m) });
  return 0;
}
