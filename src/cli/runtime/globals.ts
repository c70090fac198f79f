/** What every carton-runtime command receives from the global flags, and the shared help helper. */
import { stdout } from './out';
import { FlagSpec, formatHelp, parseArgs, Parsed } from '../args';
import { CartonError } from '../../common/errors';

export interface Globals {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
}

export const COMMANDS: Record<string, string> = {
  create: 'create a container',
  start: 'executes the user defined process in a created container',
  run: 'create and run a container',
  exec: 'execute new process inside the container',
  state: 'output the state of a container',
  kill: "kill sends the specified signal (default: SIGTERM) to the container's init process",
  delete: 'delete any resources held by the container often used with detached container',
  list: 'lists containers started by carton-runtime with the given root',
  ps: 'ps displays the processes running inside a container',
  spec: 'create a new specification file',
  pause: 'pause suspends all processes inside the container',
  resume: 'resumes all processes that have been previously paused',
  update: 'update container resource constraints',
  events: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
  features: 'show the enabled features',
  prestart: 'keep workers with Node started and Carton loaded, for faster commands',
};

const HELP: FlagSpec = { name: 'help', short: 'h', type: 'bool', help: 'show help' };

export interface CommandSpec {
  name: string;
  usage: string;
  flags: FlagSpec[];
  /** Positionals required (runc checks the count and names the command). */
  minArgs: number;
  maxArgs?: number;
  stopAtPositional?: boolean;
  description?: string;
}

/** Parse a command's argv; returns undefined after printing help for --help. */
export function parseCommand(spec: CommandSpec, argv: string[]): Parsed | undefined {
  const flags = [...spec.flags, HELP];
  const parsed = parseArgs(argv, flags, { style: 'runc', stopAtPositional: spec.stopAtPositional });
  if (parsed.values.help) {
    stdout(
      formatHelp(`carton-runtime ${spec.name} ${spec.usage}`, `${COMMANDS[spec.name] ?? ''}${spec.description ? `\n\n${spec.description}` : ''}`, flags),
    );
    return undefined;
  }
  const n = parsed.positionals.length;
  if (n < spec.minArgs || (spec.maxArgs !== undefined && n > spec.maxArgs)) {
    const want =
      spec.maxArgs === spec.minArgs ? `exactly ${spec.minArgs}` : spec.maxArgs === undefined ? `at least ${spec.minArgs}` : `${spec.minArgs} to ${spec.maxArgs}`;
    throw new CartonError('EINVAL_CONFIG', `"${spec.name}" requires ${want} argument(s)`, {
      hint: `usage: carton-runtime ${spec.name} ${spec.usage}`,
    });
  }
  return parsed;
}
