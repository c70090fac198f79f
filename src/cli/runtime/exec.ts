/** carton-runtime exec [options] ID [COMMAND ARGS…] */
import { CartonError } from '../../common/errors';
import { execInContainer } from '../../runtime/exec';
import { Globals, parseCommand } from './globals';
import { logDebug, logWarn } from './log';

export async function main(argv: string[], g: Globals): Promise<number> {
  const p = parseCommand(
    {
      name: 'exec',
      usage: '[command options] <container-id> <command> [command options]  || -p process.json <container-id>',
      flags: [
        { name: 'process', short: 'p', type: 'string', value: 'FILE', help: 'path to a process.json (runtime-spec Process)' },
        { name: 'detach', short: 'd', type: 'bool', help: 'detach from the container process' },
        { name: 'pid-file', type: 'string', value: 'FILE', help: 'file to write the process id to' },
        { name: 'console-socket', type: 'string', value: 'PATH', help: 'unix socket that receives the pty master' },
        { name: 'tty', short: 't', type: 'bool', help: 'allocate a pseudo-TTY' },
        { name: 'cwd', type: 'string', value: 'DIR', help: 'current working directory in the container' },
        { name: 'env', short: 'e', type: 'strings', value: 'K=V', help: 'set an environment variable' },
        { name: 'user', short: 'u', type: 'string', value: 'UID[:GID]', help: 'user id and group id (numbers)' },
        { name: 'additional-gids', short: 'g', type: 'strings', value: 'GID', help: 'additional gids' },
        { name: 'cap', short: 'c', type: 'strings', value: 'CAP', help: 'add a capability to the bounding, effective and permitted sets' },
        { name: 'no-new-privs', type: 'bool', help: 'set the no new privileges value for the process' },
        { name: 'preserve-fds', type: 'number', value: 'N', default: 0, help: 'pass N additional file descriptors to the process' },
        { name: 'apparmor', type: 'string', hidden: true, help: 'apparmor profile' },
        { name: 'process-label', type: 'string', hidden: true, help: 'selinux label' },
      ],
      minArgs: 1,
      stopAtPositional: true,
    },
    argv,
  );
  if (!p) return 0;
  const v = p.values;
  const [id, ...args] = p.positionals;
  const gids = (v['additional-gids'] as string[]).map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s)) throw new CartonError('EINVAL_CONFIG', `--additional-gids (${s}): must be a number`);
    return n;
  });
  if (!v.process && args.length === 0) throw new CartonError('EINVAL_CONFIG', 'exec: a command to run is required (ARGS or --process)');
  return execInContainer({
    root: g.root,
    id,
    processFile: v.process as string | undefined,
    args,
    detach: !!v.detach,
    pidFile: v['pid-file'] as string | undefined,
    consoleSocket: v['console-socket'] as string | undefined,
    tty: !!v.tty,
    cwd: v.cwd as string | undefined,
    env: v.env as string[],
    user: v.user as string | undefined,
    additionalGids: gids,
    cap: v.cap as string[],
    noNewPrivs: !!v['no-new-privs'],
    preserveFds: v['preserve-fds'] as number,
    debug: g.debug ? (m) => logDebug(g, m) : undefined,
    warn: (m) => logWarn(g, m),
  });
}
