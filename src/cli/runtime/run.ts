/** carton-runtime run [--bundle DIR] [--detach] [--keep] [--pid-file F] [--console-socket S] ID */
import type { FlagSpec } from '../args';
import { runContainer } from '../../runtime/run';
import { CONTAINER_FLAGS } from './container-flags';
import { Globals, parseCommand } from './globals';
import { logDebug, logNotice, logWarn } from './log';

const FLAGS: FlagSpec[] = [
  ...CONTAINER_FLAGS,
  { name: 'detach', short: 'd', type: 'bool', help: 'detach from the container process' },
  { name: 'keep', type: 'bool', help: 'keep the container state after it exits (foreground only)' },
];

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand({ name: 'run', usage: '[command options] <container-id>', flags: FLAGS, minArgs: 1, maxArgs: 1 }, argv);
  if (!p) return 0;
  const v = p.values;
  return runContainer({
    root: g.root,
    id: p.positionals[0],
    bundle: v.bundle as string | undefined,
    pidFile: v['pid-file'] as string | undefined,
    consoleSocket: v['console-socket'] as string | undefined,
    preserveFds: v['preserve-fds'] as number,
    noPivot: !!v['no-pivot'],
    noNewKeyring: !!v['no-new-keyring'],
    detach: !!v.detach,
    keep: !!v.keep,
    warn: (m) => logWarn(g, m),
    notice: (m) => logNotice(g, m),
    systemdCgroup: g.systemdCgroup,
    debug: g.debug ? (m) => logDebug(g, m) : undefined,
  });
}
