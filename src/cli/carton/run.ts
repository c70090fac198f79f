/**
 * `carton run [OPTIONS] IMAGE [COMMAND] [ARG...]` and Podman's
 * `carton run [OPTIONS] --rootfs DIR COMMAND [ARG...]`, in the foreground.
 */
import * as fs from 'fs';
import { CartonError, nodeErrorReason } from '../../common/errors';
import type { FlagSpec, Parsed } from '../args';
import { hostCpuCount } from '../../engine/host';
import { runForeground } from '../../engine/run';
import { trace } from '../../runtime/trace';
import {
  RunOptions, applySecurityOpts, expandEnv, parseEnvFile, parseMountFlag, parseNetwork, parseTmpfsFlag, parseVolumeFlag,
} from '../../engine/run-options';
import { parseBytes, parseCpus } from '../../engine/units';
import { CliContext, argCountError, bool, parseCommand, str, strs } from './context';
import { ensureImage } from './image-source';

export const RUN_FLAGS: FlagSpec[] = [
  { name: 'rm', type: 'bool', help: 'Automatically remove the container when it exits' },
  { name: 'interactive', short: 'i', type: 'bool', help: 'Keep STDIN open even if not attached' },
  { name: 'tty', short: 't', type: 'bool', help: 'Allocate a pseudo-TTY' },
  { name: 'detach', short: 'd', type: 'bool', help: 'Run container in background (not supported yet)' },
  { name: 'name', type: 'string', value: 'string', help: 'Assign a name to the container' },
  { name: 'env', short: 'e', type: 'strings', value: 'list', help: 'Set environment variables' },
  { name: 'env-file', type: 'strings', value: 'list', help: 'Read in a file of environment variables' },
  { name: 'workdir', short: 'w', type: 'string', value: 'string', help: 'Working directory inside the container' },
  { name: 'user', short: 'u', type: 'string', value: 'string', help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'hostname', short: 'h', type: 'string', value: 'string', help: 'Container host name' },
  { name: 'entrypoint', type: 'string', value: 'string', help: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'memory', short: 'm', type: 'string', value: 'bytes', help: 'Memory limit' },
  { name: 'cpus', type: 'string', value: 'decimal', help: 'Number of CPUs' },
  { name: 'pids-limit', type: 'number', value: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'cgroup-parent', type: 'string', value: 'string', help: 'Optional parent cgroup for the container' },
  { name: 'shm-size', type: 'string', value: 'bytes', help: 'Size of /dev/shm' },
  { name: 'volume', short: 'v', type: 'strings', value: 'list', help: 'Bind mount a volume' },
  { name: 'mount', type: 'strings', value: 'mount', help: 'Attach a filesystem mount to the container' },
  { name: 'read-only', type: 'bool', help: "Mount the container's root filesystem as read only" },
  { name: 'tmpfs', type: 'strings', value: 'list', help: 'Mount a tmpfs directory' },
  { name: 'cap-add', type: 'strings', value: 'list', help: 'Add Linux capabilities' },
  { name: 'cap-drop', type: 'strings', value: 'list', help: 'Drop Linux capabilities' },
  { name: 'security-opt', type: 'strings', value: 'list', help: 'Security Options' },
  { name: 'privileged', type: 'bool', help: 'Give extended privileges to this container' },
  { name: 'network', aliases: ['net'], type: 'string', value: 'network', help: 'Connect a container to a network (none, host)' },
  { name: 'rootfs', type: 'bool', help: 'The first argument is a root filesystem directory, not an image' },
  { name: 'pull', type: 'string', value: 'string', default: 'missing', help: 'Pull image before running ("always"|"missing"|"never")' },
];

const HELP = {
  usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]\n       carton run [OPTIONS] --rootfs DIR COMMAND [ARG...]',
  description: 'Create and run a new container from an image',
  flags: RUN_FLAGS,
};

/** Flag values → RunOptions (reads --env-file files; everything else is pure parsing). */
export function runOptionsFrom(p: Parsed, hostEnv: NodeJS.ProcessEnv = process.env): RunOptions {
  const env: string[] = [];
  for (const file of strs(p, 'env-file')) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new CartonError('ENOTFOUND', `open ${file}: ${nodeErrorReason(err)}`, { exitCode: 125 });
    }
    env.push(...parseEnvFile(text, file, hostEnv));
  }
  env.push(...expandEnv(strs(p, 'env'), hostEnv));
  const security = applySecurityOpts(strs(p, 'security-opt'));
  const mem = str(p, 'memory');
  const cpus = str(p, 'cpus');
  const shm = str(p, 'shm-size');
  return {
    rm: bool(p, 'rm'),
    interactive: bool(p, 'interactive'),
    tty: bool(p, 'tty'),
    name: str(p, 'name'),
    env,
    workdir: str(p, 'workdir'),
    user: str(p, 'user'),
    hostname: str(p, 'hostname'),
    entrypoint: p.given.has('entrypoint') ? (str(p, 'entrypoint') ?? '') : undefined,
    memory: mem !== undefined ? parseBytes(mem, '-m, --memory') : undefined,
    nanoCpus: cpus !== undefined ? parseCpus(cpus, hostCpuCount()) : undefined,
    pidsLimit: p.values['pids-limit'] as number | undefined,
    cgroupParent: str(p, 'cgroup-parent'),
    shmSize: shm !== undefined ? parseBytes(shm, '--shm-size') : undefined,
    mounts: [
      ...strs(p, 'volume').map(parseVolumeFlag),
      ...strs(p, 'mount').map((m) => parseMountFlag(m, parseBytes)),
      ...strs(p, 'tmpfs').map(parseTmpfsFlag),
    ],
    readOnly: bool(p, 'read-only'),
    capAdd: strs(p, 'cap-add'),
    capDrop: strs(p, 'cap-drop'),
    noNewPrivileges: security.noNewPrivileges,
    seccomp: security.seccomp,
    privileged: bool(p, 'privileged'),
    network: parseNetwork(str(p, 'network')),
  };
}

export async function runCommand(argv: string[], ctx: CliContext): Promise<number> {
  trace('carton run: modules loaded');
  const p = parseCommand('run', argv, HELP, ctx, true);
  if (!p) return 0;
  const rootfs = bool(p, 'rootfs');
  if (p.positionals.length < 1) throw argCountError('run', HELP.usage, 'at least 1 argument');
  if (bool(p, 'detach')) {
    throw new CartonError('EUNSUPPORTED', 'detached containers (-d) are not supported yet; run in the foreground', { exitCode: 125 });
  }
  const options = runOptionsFrom(p);
  const pullPolicy = str(p, 'pull') ?? 'missing';
  if (!['always', 'missing', 'never'].includes(pullPolicy)) {
    throw new CartonError('EINVAL_CONFIG', `invalid pull option: '${pullPolicy}': must be one of "always", "missing" or "never"`, { exitCode: 125 });
  }
  const [target, ...command] = p.positionals;
  if (rootfs && command.length === 0 && options.entrypoint === undefined) {
    throw new CartonError('EINVAL_CONFIG', 'No command specified', { exitCode: 125 });
  }
  if (options.tty && !process.stdin.isTTY && options.interactive) {
    throw new CartonError('EINVAL_CONFIG', 'the input device is not a TTY', { exitCode: 1 });
  }
  const code = await runForeground({
    root: ctx.root,
    runroot: ctx.runroot,
    options,
    target,
    rootfs,
    command,
    ensureImage: (ref) => ensureImage(ctx, ref, pullPolicy),
    warn: (m) => ctx.err(`WARNING: ${m}\n`),
  });
  // The container, its mounts, cgroups and records are gone. What still holds the event
  // loop is the runtime's read of the init's socket, which returns only once the init has
  // exited: 5-10 ms of waiting for nothing after every run. Exit now, as carton-runtime
  // does (stdout and stderr are synchronous on Linux, 'exit' handlers still run).
  if (process.env.CARTON_EXIT_NOW !== '0') process.exit(code);
  return code;
}
