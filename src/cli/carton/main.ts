/**
 * `carton`: Docker's command surface over Carton's image store and runtime.
 * Global flags come before the subcommand (`carton --root DIR run …`).
 */
import { CartonError, asCartonError } from '../../common/errors';
import { FlagSpec, formatHelp, parseArgs } from '../args';
import type { Command, CliContext } from './context';
import type { Store } from '../../storage/store';

const VERSION = '0.1.0';

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', type: 'string', value: 'DIR', default: '/var/lib/carton', help: 'Root of images, containers and volumes' },
  { name: 'runroot', type: 'string', value: 'DIR', default: '/run/carton', help: 'Root of runtime state (bundles, container state)' },
  { name: 'log-level', short: 'l', type: 'string', value: 'LEVEL', default: 'info', help: 'Set the logging level', hidden: true },
  { name: 'debug', short: 'D', type: 'bool', help: 'Enable debug mode', hidden: true },
  { name: 'version', short: 'v', type: 'bool', help: 'Print version information and quit' },
  { name: 'help', short: 'h', type: 'bool', help: 'Print usage' },
];

/** Subcommands, loaded on demand so `carton ps` does not load the registry client. */
const COMMANDS: Record<string, () => Command> = {
  run: () => require('./run').runCommand,
  ps: () => require('./ps').psCommand,
  rm: () => require('./rm').rmCommand,
  pull: () => require('./pull').pullCommand,
  push: () => require('./push').pushCommand,
  images: () => require('./images').imagesCommand,
  rmi: () => require('./rmi').rmiCommand,
  tag: () => require('./tag').tagCommand,
  inspect: () => require('./inspect').inspectCommand,
  load: () => require('./load').loadCommand,
  save: () => require('./save').saveCommand,
  import: () => require('./import').importCommand,
  login: () => require('./login').loginCommand,
  logout: () => require('./login').logoutCommand,
  info: () => require('./info').infoCommand,
  version: () => require('./info').versionCommand,
  image: () => require('./image').imageCommand,
};

const SUMMARY = `Commands:
  run       Create and run a new container from an image (or --rootfs DIR)
  ps        List containers
  rm        Remove one or more containers
  pull      Download an image from a registry
  push      Upload an image to a registry
  images    List images
  rmi       Remove one or more images
  tag       Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  inspect   Return low-level information on images
  load      Load an image from a tar archive or STDIN
  save      Save one or more images to a tar archive (streamed to STDOUT by default)
  import    Import the contents of a tarball to create a filesystem image
  image     Manage images (ls, rm, inspect, prune, pull, push, tag, load, save, import)
  login     Log in to a registry
  logout    Log out from a registry
  info      Display system-wide information
  version   Show the Carton version information
`;

export async function main(argv: string[]): Promise<number> {
  const g = parseArgs(argv, GLOBAL_FLAGS, { style: 'docker', stopAtPositional: true });
  if (g.values.version) {
    process.stdout.write(`Carton version ${VERSION}\n`);
    return 0;
  }
  const [name, ...rest] = g.positionals;
  if (g.values.help || name === undefined || name === 'help') {
    process.stdout.write(formatHelp('carton [OPTIONS] COMMAND', 'A container engine with Docker\'s command line', GLOBAL_FLAGS) + '\n' + SUMMARY);
    return name === undefined && !g.values.help ? 0 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    throw new CartonError('EINVAL_CONFIG', `'${name}' is not a carton command.\nSee 'carton --help'`, { exitCode: 1 });
  }
  let store: Store | undefined;
  const root = g.values.root as string;
  const ctx: CliContext = {
    root,
    runroot: g.values.runroot as string,
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    store: () => {
      if (!store) {
        const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
        const { normalizeImageName } = require('./image-source') as typeof import('./image-source');
        store = openStore(root, { normalizeName: normalizeImageName });
      }
      return store;
    },
  };
  return load()(rest, ctx);
}

/** Run the command line in process.argv; its status becomes process.exitCode (bin/carton.js, prestarted workers). */
export function runMain(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      const e = asCartonError(err);
      const text = e.hint && !e.message.includes('\nSee ') ? `${e.message} (${e.hint})` : e.message;
      // Docker prints daemon-side errors ("Error response from daemon: …", "Error: No such
      // object: …") as they are, and its own with the program name in front.
      process.stderr.write(text.startsWith('Error') ? `${text}\n` : `carton: ${text}\n`);
      if (process.env.CARTON_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      process.exitCode = e.exitCode;
    },
  );
}

/**
 * For a prestarted worker: evaluate, before a caller waits for them, the modules of every
 * command and those `run` loads lazily on the way (the runtime's, most of all).
 */
export function prewarm(): void {
  for (const load of Object.values(COMMANDS)) load();
  (require('../../prestart/prewarm') as typeof import('../../prestart/prewarm')).prewarmRuntimeModules();
}

/** The prestarted worker's code (docs/prestart.md), loaded only by bin/prestart-worker.js. */
export function prestartWorker(): typeof import('../../prestart/worker') {
  return require('../../prestart/worker');
}

if (require.main === module || (process.argv[1] ?? '').endsWith('carton') || (process.argv[1] ?? '').endsWith('carton.js')) runMain();
