/** `carton import [-m MSG] [-c CHANGE] FILE|- [REPOSITORY[:TAG]]`: a rootfs tarball as a one-layer image. */
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { CartonError } from '../../common/errors';
import { formatReference, parseReference } from '../../image/reference';
import type { ImageRunConfig } from '../../storage/image-types';
import { CliContext, argCountError, parseCommand, str, strs } from './context';

const HELP = {
  usage: 'import [OPTIONS] file|- [REPOSITORY[:TAG]]',
  description: 'Import the contents from a tarball to create a filesystem image',
  flags: [
    { name: 'change', short: 'c', type: 'strings' as const, value: 'list', help: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', type: 'string' as const, value: 'string', help: 'Set commit message for imported image' },
    { name: 'platform', type: 'string' as const, value: 'string', help: 'Set platform if server is multi-platform capable' },
  ],
};

/** CMD/ENTRYPOINT take a JSON array or a shell form (run through /bin/sh -c, as Docker does). */
function commandValue(v: string): string[] {
  const t = v.trim();
  if (t.startsWith('[')) {
    try {
      const a = JSON.parse(t) as unknown;
      if (Array.isArray(a) && a.every((x) => typeof x === 'string')) return a as string[];
    } catch {
      /* not JSON: shell form */
    }
  }
  return ['/bin/sh', '-c', t];
}

/** The --change instructions Docker's import accepts, applied to an empty config. */
export function applyChanges(changes: string[]): ImageRunConfig {
  const config: ImageRunConfig = {};
  for (const change of changes) {
    const m = /^\s*(\w+)\s+(.*)$/s.exec(change);
    if (!m) throw new CartonError('EINVAL_CONFIG', `invalid --change: ${change}`, { exitCode: 125 });
    const [, word, value] = m;
    switch (word.toUpperCase()) {
      case 'CMD': config.Cmd = commandValue(value); break;
      case 'ENTRYPOINT': config.Entrypoint = commandValue(value); break;
      case 'WORKDIR': config.WorkingDir = value.trim(); break;
      case 'USER': config.User = value.trim(); break;
      case 'ENV': {
        const kv = value.includes('=') ? value.trim() : value.trim().replace(/\s+/, '=');
        config.Env = [...(config.Env ?? []), kv];
        break;
      }
      case 'LABEL': {
        const [k, ...rest] = value.trim().split('=');
        config.Labels = { ...(config.Labels ?? {}), [k]: rest.join('=').replace(/^"(.*)"$/, '$1') };
        break;
      }
      case 'EXPOSE': config.ExposedPorts = { ...(config.ExposedPorts ?? {}), [value.trim().includes('/') ? value.trim() : `${value.trim()}/tcp`]: {} }; break;
      case 'VOLUME': for (const v of commandValue(value).slice(value.trim().startsWith('[') ? 0 : 2).join(' ').split(/\s+/)) config.Volumes = { ...(config.Volumes ?? {}), [v]: {} }; break;
      case 'STOPSIGNAL': config.StopSignal = value.trim(); break;
      default:
        throw new CartonError('EINVAL_CONFIG', `${word} is not a valid change command`, { exitCode: 125 });
    }
  }
  return config;
}

export async function importCommand(argv: string[], ctx: CliContext): Promise<number> {
  const p = parseCommand('import', argv, HELP, ctx);
  if (!p) return 0;
  if (p.positionals.length < 1 || p.positionals.length > 2) throw argCountError('import', HELP.usage, 'at least 1 and at most 2 arguments');
  const [source, name] = p.positionals;
  if (/^https?:\/\//.test(source)) throw new CartonError('EUNSUPPORTED', 'import from a URL is not supported; download the file first', { exitCode: 125 });
  const config = applyChanges(strs(p, 'change'));
  const { importRootfs } = require('../../archive/import') as typeof import('../../archive/import');
  const store = ctx.store();
  let file = source;
  let tmp: string | undefined;
  if (source === '-') {
    tmp = store.tempDir('import');
    file = path.join(tmp, 'rootfs.tar');
    await pipeline(process.stdin, fs.createWriteStream(file));
  }
  const platform = str(p, 'platform');
  try {
    const image = await importRootfs(store, file, {
      name: name !== undefined ? formatReference(parseReference(name)) : undefined,
      message: str(p, 'message'),
      config,
      os: platform?.split('/')[0],
      architecture: platform?.split('/')[1],
    });
    ctx.out(`${image.id}\n`);
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
  return 0;
}
