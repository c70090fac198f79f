/**
 * carton-runtime: runc's command line. Global flags come before the subcommand,
 * in any order; each subcommand lives in its own module, loaded only when called
 * so that `state` or `kill` never pay for the planner or the init driver.
 */
import { stdout, stderr } from './out';
import { FlagSpec, formatHelp, parseArgs } from '../args';
import { CartonError, asCartonError } from '../../common/errors';
import { COMMANDS, Globals } from './globals';
import { logError, setupLog } from './log';

export const VERSION = '0.1.0';

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', type: 'string', value: 'DIR', default: '/run/carton-runtime', help: 'root directory for storage of container state' },
  { name: 'log', type: 'string', value: 'FILE', help: 'write errors and debug messages to FILE (default: stderr)' },
  { name: 'log-format', type: 'string', value: 'text|json', default: 'text', help: 'format of --log: text or json' },
  { name: 'debug', type: 'bool', help: 'log debug messages' },
  { name: 'systemd-cgroup', type: 'bool', help: 'manage cgroups through systemd (cgroupsPath as slice:prefix:name)' },
  { name: 'rootless', type: 'string', value: 'true|false|auto', default: 'auto', help: 'ignore cgroup permission errors (auto: when not root)' },
  { name: 'criu', type: 'string', hidden: true, help: 'unused (checkpointing is not supported)' },
  { name: 'version', short: 'v', type: 'bool', help: 'print the version' },
  { name: 'help', short: 'h', type: 'bool', help: 'show help' },
];


function loadCommand(name: string): (argv: string[], g: Globals) => number | Promise<number> {
  /* eslint-disable @typescript-eslint/no-var-requires */
  switch (name) {
    case 'create': return require('./create').main;
    case 'start': return require('./start').main;
    case 'run': return require('./run').main;
    case 'exec': return require('./exec').main;
    case 'state': return require('./state').main;
    case 'kill': return require('./kill').main;
    case 'delete': return require('./delete').main;
    case 'list': return require('./list').main;
    case 'ps': return require('./ps').main;
    case 'spec': return require('./spec').main;
    case 'pause': return require('./pause').main;
    case 'resume': return require('./resume').main;
    case 'update': return require('./update').main;
    case 'events': return require('./events').main;
    case 'features': return require('./features').main;
    case 'prestart': return require('./prestart').main;
    default:
      throw new CartonError('EINVAL_CONFIG', `No help topic for '${name}'`);
  }
}

function versionText(): string {
  return `carton-runtime version ${VERSION}\ncommit: ${commitId()}\nspec: 1.2.0\n`;
}

/** The build's git commit: baked in at bundle time, else read from the checkout without running git. */
function commitId(): string {
  const baked = process.env.CARTON_COMMIT_BAKED;
  if (baked) return baked;
  try {
    const fs = require('fs') as typeof import('fs');
    const path = require('path') as typeof import('path');
    let dir = __dirname;
    for (let i = 0; i < 6; i++) {
      const gitDir = path.join(dir, '.git');
      if (fs.existsSync(path.join(gitDir, 'HEAD'))) {
        const head = fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
        if (!head.startsWith('ref: ')) return head.slice(0, 7);
        const ref = head.slice(5);
        const refFile = path.join(gitDir, ref);
        if (fs.existsSync(refFile)) return fs.readFileSync(refFile, 'utf8').trim().slice(0, 7);
        const packed = fs.readFileSync(path.join(gitDir, 'packed-refs'), 'utf8');
        const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
        return line ? line.slice(0, 7) : 'unknown';
      }
      dir = path.dirname(dir);
    }
  } catch {
    /* unknown */
  }
  return 'unknown';
}

export async function main(argv: string[]): Promise<number> {
  if (process.env.CARTON_TRACE === '1') (require('../../runtime/trace') as typeof import('../../runtime/trace')).trace('main');
  // Global flags end at the first positional: the subcommand.
  let parsed;
  try {
    parsed = parseArgs(argv, GLOBAL_FLAGS, { stopAtPositional: true, style: 'runc' });
  } catch (err) {
    stderr(`carton-runtime: ${asCartonError(err).describe()}\n`);
    return 1;
  }
  const v = parsed.values;
  const g: Globals = {
    root: parsed.given.has('root') ? String(v.root) : defaultRoot(),
    log: v.log as string | undefined,
    logFormat: v['log-format'] === 'json' ? 'json' : 'text',
    debug: !!v.debug,
    systemdCgroup: !!v['systemd-cgroup'],
  };
  setupLog(g);
  if (parsed.given.has('rootless')) {
    try {
      (require('../../runtime/rootless') as typeof import('../../runtime/rootless')).setRootlessSetting(v.rootless as string);
    } catch (err) {
      logError(g, asCartonError(err).describe());
      return 1;
    }
  }
  if (v.version) {
    stdout(versionText());
    return 0;
  }
  const [command, ...rest] = parsed.positionals;
  if (!command || v.help || command === 'help') {
    const target = command === 'help' ? rest[0] : undefined;
    if (target) return loadCommand(target)(['--help'], g);
    stdout(topHelp());
    return 0;
  }
  if (!(command in COMMANDS)) {
    logError(g, `command "${command}" does not exist`);
    return 1;
  }
  try {
    if (g.systemdCgroup) requireSystemd();
    if (v['log-format'] !== 'text' && v['log-format'] !== 'json') {
      throw new CartonError('EINVAL_CONFIG', `--log-format: unknown format "${String(v['log-format'])}" (text or json)`);
    }
    return await loadCommand(command)(rest, g);
  } catch (err) {
    const e = asCartonError(err);
    logError(g, e.describe());
    if (g.debug && e.stack) stderr(`${e.stack}\n`);
    // runc's convention for scripts and shims: 1 for any error, 255 when exec fails
    // before the process runs (the process's own codes are returned as they are).
    return command === 'exec' ? 255 : 1;
  }
}

/** /run/carton-runtime, or $XDG_RUNTIME_DIR/carton-runtime for a rootless user (runc's rule). */
function defaultRoot(): string {
  if (!process.env.XDG_RUNTIME_DIR) return '/run/carton-runtime';
  return (require('../../runtime/rootless') as typeof import('../../runtime/rootless')).defaultStateRoot();
}

function requireSystemd(): void {
  const fs = require('fs') as typeof import('fs');
  if (!fs.existsSync('/run/systemd/system')) {
    throw new CartonError('EUNSUPPORTED', '--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)', {
      hint: 'drop --systemd-cgroup to manage cgroups directly (cgroupfs)',
    });
  }
  throw new CartonError('EUNSUPPORTED', '--systemd-cgroup: the systemd cgroup driver is not supported yet', {
    hint: 'use the cgroupfs driver (no --systemd-cgroup)',
  });
}

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 3;
  const cmds = Object.entries(COMMANDS)
    .map(([c, d]) => `  ${c.padEnd(width)}${d}`)
    .join('\n');
  return (
    formatHelp('carton-runtime [global options] command [command options] [arguments...]', 'carton-runtime is an OCI runtime with runc\'s command line.\n\nCommands:\n' + cmds, GLOBAL_FLAGS)
  );
}


/** Run the command line in process.argv and exit with its status (bin/carton-runtime.js, prestarted workers). */
export function runMain(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Done: exit now rather than when the event loop drains by itself, which after a run
      // (V8's background compile jobs, the init's socket and reaping) costs ~4 ms of CPU.
      // Output is written synchronously (out.ts), so nothing is cut short.
      process.exit(code);
    },
    (err) => {
      stderr(`carton-runtime: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * For a prestarted worker: evaluate, before a caller waits for them, the modules of every
 * command and those the commands load lazily on the way (a cold start loads only its own).
 */
export function prewarm(): void {
  for (const name of Object.keys(COMMANDS)) if (name !== 'prestart') loadCommand(name);
  (require('../../prestart/prewarm') as typeof import('../../prestart/prewarm')).prewarmRuntimeModules();
}

/** The prestarted worker's code (docs/prestart.md), loaded only by bin/prestart-worker.js. */
export function prestartWorker(): typeof import('../../prestart/worker') {
  return require('../../prestart/worker');
}

if (require.main === module || (process.argv[1] && /carton-runtime(\.js)?$/.test(process.argv[1]))) runMain();
