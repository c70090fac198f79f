/**
 * Command-line parsing shared by `carton-runtime` (runc's surface) and `carton`
 * (Docker's surface). Both accept `--flag value`, `--flag=value`, short forms and
 * grouped short booleans (`-it`). runc's parser also takes single-dash long names
 * (`-bundle`), so that is accepted when the name is a known long flag.
 *
 * Parsing stops at the first positional when `stopAtPositional` is set (Docker's
 * `run IMAGE CMD…`, runc's `exec ID CMD…`), and always at `--`.
 */
import { CartonError } from '../common/errors';

export type FlagType = 'bool' | 'string' | 'strings' | 'number';

export interface FlagSpec {
  /** Long name without dashes: "bundle". */
  name: string;
  /** One-letter short form without dash: "b". */
  short?: string;
  /** Other long names accepted for the same flag. */
  aliases?: string[];
  type: FlagType;
  help: string;
  /** Placeholder shown in help ("DIR"). */
  value?: string;
  default?: string | number | boolean;
  hidden?: boolean;
}

export type FlagValue = string | number | boolean | string[] | undefined;

export interface Parsed {
  values: Record<string, FlagValue>;
  /** Flags the user actually gave (to tell a default from an explicit value). */
  given: Set<string>;
  positionals: string[];
}

export interface ParseOptions {
  stopAtPositional?: boolean;
  /** Wording of errors: runc's Go-style or Docker's. */
  style?: 'runc' | 'docker';
}

export function parseArgs(argv: string[], flags: FlagSpec[], options: ParseOptions = {}): Parsed {
  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const f of flags) {
    byLong.set(f.name, f);
    for (const a of f.aliases ?? []) byLong.set(a, f);
    if (f.short) byShort.set(f.short, f);
  }
  const values: Record<string, FlagValue> = {};
  for (const f of flags) values[f.name] = f.type === 'strings' ? [] : f.default;
  const given = new Set<string>();
  const positionals: string[] = [];

  const unknown = (flag: string): CartonError =>
    new CartonError(
      'EINVAL_CONFIG',
      options.style === 'docker' ? `unknown flag: ${flag}` : `flag provided but not defined: ${flag}`,
      { hint: "see '--help'", exitCode: options.style === 'docker' ? 125 : 1 },
    );

  const set = (f: FlagSpec, shown: string, inline: string | undefined, next: () => string | undefined): void => {
    given.add(f.name);
    if (f.type === 'bool') {
      values[f.name] = inline === undefined ? true : parseBool(shown, inline);
      return;
    }
    const v = inline ?? next();
    if (v === undefined) {
      throw new CartonError('EINVAL_CONFIG', `flag needs an argument: ${shown}`, {
        exitCode: options.style === 'docker' ? 125 : 1,
      });
    }
    if (f.type === 'number') {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) {
        throw new CartonError('EINVAL_CONFIG', `invalid value "${v}" for flag ${shown}: must be a number`, {
          exitCode: options.style === 'docker' ? 125 : 1,
        });
      }
      values[f.name] = n;
    } else if (f.type === 'strings') {
      (values[f.name] as string[]).push(v);
    } else {
      values[f.name] = v;
    }
  };

  let i = 0;
  const next = (): string | undefined => (i + 1 < argv.length ? argv[++i] : undefined);
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--') || (arg.startsWith('-') && arg.length > 2 && isLongSingleDash(arg, byLong))) {
      const body = arg.replace(/^--?/, '');
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const f = byLong.get(name);
      if (!f) throw unknown(arg.startsWith('--') ? `--${name}` : `-${name}`);
      set(f, `--${name}`, eq >= 0 ? body.slice(eq + 1) : undefined, next);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // Grouped shorts: -it, -dit; a value-taking short may end the group (-uroot, -u root).
      for (let j = 1; j < arg.length; j++) {
        const f = byShort.get(arg[j]);
        if (!f) throw unknown(options.style === 'docker' ? `-${arg[j]}` : `-${arg.slice(1)}`);
        if (f.type === 'bool') {
          set(f, `-${arg[j]}`, undefined, next);
          continue;
        }
        const rest = arg.slice(j + 1);
        set(f, `-${arg[j]}`, rest.length > 0 ? rest.replace(/^=/, '') : undefined, next);
        break;
      }
      continue;
    }
    positionals.push(arg);
    if (options.stopAtPositional) {
      positionals.push(...argv.slice(i + 1));
      break;
    }
  }
  return { values, given, positionals };
}

function isLongSingleDash(arg: string, byLong: Map<string, FlagSpec>): boolean {
  const body = arg.slice(1);
  const name = body.includes('=') ? body.slice(0, body.indexOf('=')) : body;
  return byLong.has(name);
}

function parseBool(flag: string, v: string): boolean {
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  throw new CartonError('EINVAL_CONFIG', `invalid boolean value "${v}" for ${flag}`);
}

/** Help text: usage line, description, and an aligned flag table. */
export function formatHelp(usage: string, description: string, flags: FlagSpec[]): string {
  const rows = flags
    .filter((f) => !f.hidden)
    .map((f) => {
      const names = [f.short ? `-${f.short}` : '', `--${f.name}`].filter(Boolean).join(', ');
      const value = f.type === 'bool' ? '' : ` ${f.value ?? (f.type === 'number' ? 'N' : 'value')}`;
      return [`  ${names}${value}`, f.help];
    });
  const width = Math.max(0, ...rows.map((r) => r[0].length)) + 2;
  const table = rows.map(([l, r]) => l.padEnd(width) + r).join('\n');
  return `Usage: ${usage}\n\n${description}\n${table ? `\nOptions:\n${table}\n` : ''}`;
}
