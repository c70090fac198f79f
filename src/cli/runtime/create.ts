/** carton-runtime create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] ID */
import type { FlagSpec } from '../args';
import { createContainer } from '../../runtime/create';
import { Globals, parseCommand } from './globals';
import { logDebug, logNotice, logWarn } from './log';

export const CREATE_FLAGS: FlagSpec[] = [
  { name: 'bundle', short: 'b', type: 'string', value: 'DIR', help: 'path to the root of the bundle directory (default: current directory)' },
  { name: 'console-socket', type: 'string', value: 'PATH', help: 'unix socket that receives the pty master of a container with a terminal' },
  { name: 'pid-file', type: 'string', value: 'FILE', help: "file to write the container process's pid to" },
  { name: 'no-pivot', type: 'bool', help: 'do not use pivot_root to jail the process inside the rootfs (MS_MOVE + chroot)' },
  { name: 'no-new-keyring', type: 'bool', help: 'do not create a new session keyring for the container' },
  { name: 'preserve-fds', type: 'number', value: 'N', default: 0, help: 'pass N additional file descriptors (3 … 3+N-1) to the container' },
];

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
