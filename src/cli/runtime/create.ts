/** carton-runtime create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] ID */
import type { FlagSpec } from '../args';
import { createContainer } from '../../runtime/create';
import { CONTAINER_FLAGS } from './container-flags';
import { Globals, parseCommand } from './globals';
import { logDebug, logNotice, logWarn } from './log';

/** create has no flags beyond the shared container ones. */
export const CREATE_FLAGS: FlagSpec[] = [...CONTAINER_FLAGS];

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand({ name: 'create', usage: '[command options] <container-id>', flags: CREATE_FLAGS, minArgs: 1, maxArgs: 1 }, argv);
  if (!p) return 0;
  const v = p.values;
  await createContainer({
    root: g.root,
    id: p.positionals[0],
    bundle: v.bundle as string | undefined,
    pidFile: v['pid-file'] as string | undefined,
    consoleSocket: v['console-socket'] as string | undefined,
    preserveFds: v['preserve-fds'] as number,
    noPivot: !!v['no-pivot'],
    noNewKeyring: !!v['no-new-keyring'],
    mode: 'create',
    warn: (m) => logWarn(g, m),
    notice: (m) => logNotice(g, m),
    systemdCgroup: g.systemdCgroup,
    debug: g.debug ? (m) => logDebug(g, m) : undefined,
  });
  return 0;
}
