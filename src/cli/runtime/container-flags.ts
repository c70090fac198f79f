/**
 * The flags that create and run share: both set up a container from a bundle the
 * same way, so their rows are declared once here and each command adds its own.
 */
import type { FlagSpec } from '../args';
import type { Globals } from './globals';
import { logDebug, logNotice, logWarn } from './log';

export const CONTAINER_FLAGS: readonly FlagSpec[] = [
  { name: 'bundle', short: 'b', type: 'string', value: 'DIR', help: 'path to the root of the bundle directory (default: current directory)' },
  { name: 'console-socket', type: 'string', value: 'PATH', help: 'unix socket that receives the pty master of a container with a terminal' },
  { name: 'pid-file', type: 'string', value: 'FILE', help: "file to write the container process's pid to" },
  { name: 'no-pivot', type: 'bool', help: 'do not use pivot_root to jail the process inside the rootfs (MS_MOVE + chroot)' },
  { name: 'no-new-keyring', type: 'bool', help: 'do not create a new session keyring for the container' },
  { name: 'preserve-fds', type: 'number', value: 'N', default: 0, help: 'pass N additional file descriptors (3 … 3+N-1) to the container' },
];

/** The create options both commands build from those flags and the global ones. */
export function containerOptions(id: string, v: Record<string, unknown>, g: Globals) {
  return {
    root: g.root,
    id,
    bundle: v.bundle as string | undefined,
    pidFile: v['pid-file'] as string | undefined,
    consoleSocket: v['console-socket'] as string | undefined,
    preserveFds: v['preserve-fds'] as number,
    noPivot: !!v['no-pivot'],
    noNewKeyring: !!v['no-new-keyring'],
    warn: (m: string) => logWarn(g, m),
    notice: (m: string) => logNotice(g, m),
    systemdCgroup: g.systemdCgroup,
    debug: g.debug ? (m: string) => logDebug(g, m) : undefined,
  };
}
