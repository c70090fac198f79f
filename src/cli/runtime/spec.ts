/** carton-runtime spec [--bundle DIR] [--rootless]: write a default config.json. */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError } from '../../common/errors';
import { defaultSpec } from '../../runtime/deps';
import { Globals, parseCommand } from './globals';

export function main(argv: string[], _g: Globals): number {
  const p = parseCommand(
    {
      name: 'spec',
      usage: '[command options]',
      flags: [
        { name: 'bundle', short: 'b', type: 'string', value: 'DIR', help: 'path to the root of the bundle directory' },
        { name: 'rootless', type: 'bool', help: 'generate a configuration for a rootless container' },
      ],
      minArgs: 0,
      maxArgs: 0,
    },
    argv,
  );
  if (!p) return 0;
  const dir = path.resolve((p.values.bundle as string | undefined) ?? '.');
  if (!fs.existsSync(dir)) throw new CartonError('ENOTFOUND', `--bundle (${dir}): no such file or directory`);
  const file = path.join(dir, 'config.json');
  if (fs.existsSync(file)) throw new CartonError('EEXIST', `File ${file} exists. Remove it first`);
  fs.writeFileSync(file, `${JSON.stringify(defaultSpec(!!p.values.rootless), null, '\t')}\n`, { flag: 'wx', mode: 0o666 });
  return 0;
}
