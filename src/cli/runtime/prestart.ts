/** carton-runtime prestart: keep Node started and Carton loaded for the next commands (docs/prestart.md). */
import * as path from 'path';
import { CartonError } from '../../common/errors';
import { nativeBuildDir } from '../../native/addon';
import { stderr } from './out';
import { Globals, parseCommand } from './globals';

export async function main(argv: string[], _g: Globals): Promise<number> {
  const pool = require('../../prestart/pool') as typeof import('../../prestart/pool');
  const p = parseCommand(
    {
      name: 'prestart',
      usage: '[--workers N] [--dir DIR]',
      description:
        'Runs in the foreground until SIGTERM or SIGINT. carton-runtime and carton hand each command to a waiting\n' +
        'worker when the caller matches it (same user, namespaces, capabilities and limits), and start Node\n' +
        'themselves otherwise. CARTON_PRESTART=0 in a caller\'s environment opts out.',
      flags: [
        { name: 'workers', type: 'string', value: 'N', default: '2', help: 'workers kept waiting for each command' },
        { name: 'dir', type: 'string', value: 'DIR', help: 'directory of the sockets (default /run/carton-prestart, or $XDG_RUNTIME_DIR/carton-prestart for a user; CARTON_PRESTART_DIR for callers)' },
      ],
      minArgs: 0,
      maxArgs: 0,
    },
    argv,
  );
  if (!p) return 0;
  const workers = Number(p.values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new CartonError('EINVAL_CONFIG', `--workers: "${String(p.values.workers)}" is not a number from 1 to 64`);
  }
  const dir = p.given.has('dir') ? String(p.values.dir) : pool.defaultPoolDir();
  if (!dir) throw new CartonError('EINVAL_CONFIG', '--dir: not given, and neither root nor $XDG_RUNTIME_DIR tells where a pool goes');
  await pool.runPool({
    dir: path.resolve(dir),
    workers,
    programs: pool.PROGRAMS,
    binDir: binDir(),
    log: (line) => stderr(`${line}\n`),
  });
  return 0;
}

/** bin/ of this checkout or package: beside build/Release, which the native code is found in. */
function binDir(): string {
  return path.join(nativeBuildDir(), '..', '..', 'bin');
}
