/**
 * What every `carton` subcommand receives: the global flags' directories, output
 * streams, and the image store opened on first use.
 */
import { CartonError } from '../../common/errors';
import { FlagSpec, Parsed, formatHelp, parseArgs } from '../args';
import type { Store } from '../../storage/store';

export interface CliContext {
  root: string;
  runroot: string;
  out(text: string): void;
  err(text: string): void;
  /** The image store under `root` (opened once, on first use). */
  store(): Store;
}

export type Command = (argv: string[], ctx: CliContext) => Promise<number>;

export interface CommandHelp {
  usage: string;
  description: string;
  flags: FlagSpec[];
}

export const HELP_FLAG: FlagSpec = { name: 'help', type: 'bool', help: 'Print usage' };

/**
 * Parse a subcommand's arguments in Docker's style; `--help` prints the usage and
 * returns undefined. Flag errors carry Docker's "See 'docker X --help'." hint and exit 125.
 */
export function parseCommand(name: string, argv: string[], help: CommandHelp, ctx: CliContext, stopAtPositional = false): Parsed | undefined {
  let parsed: Parsed;
  try {
    parsed = parseArgs(argv, [...help.flags, HELP_FLAG], { style: 'docker', stopAtPositional });
  } catch (err) {
    if (err instanceof CartonError) {
      throw new CartonError(err.code, `${err.message}\nSee 'carton ${name} --help'.`, { exitCode: 125 });
    }
    throw err;
  }
  if (parsed.values.help) {
    ctx.out(formatHelp(`carton ${help.usage}`, help.description, help.flags));
    return undefined;
  }
  return parsed;
}

/** Docker's wording when a command gets the wrong number of arguments. */
export function argCountError(name: string, usage: string, rule: string): CartonError {
  return new CartonError('EINVAL_CONFIG', `"carton ${name}" requires ${rule}.\nSee 'carton ${name} --help'.\n\nUsage:  carton ${usage}`, { exitCode: 125 });
}

export const str = (p: Parsed, name: string): string | undefined => p.values[name] as string | undefined;
export const bool = (p: Parsed, name: string): boolean => p.values[name] === true;
export const strs = (p: Parsed, name: string): string[] => (p.values[name] as string[] | undefined) ?? [];
