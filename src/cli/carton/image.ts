/** `carton image COMMAND`: the same commands under Docker's management-command names. */
import { CartonError } from '../../common/errors';
import type { Command, CliContext } from './context';

const SUB: Record<string, () => Command> = {
  ls: () => (a, c) => require('./images').imagesCommand(a, c),
  list: () => (a, c) => require('./images').imagesCommand(a, c),
  rm: () => (a, c) => require('./rmi').rmiCommand(a, c, 'image rm'),
  remove: () => (a, c) => require('./rmi').rmiCommand(a, c, 'image rm'),
  inspect: () => (a, c) => require('./inspect').inspectCommand(a, c, 'image inspect', true),
  prune: () => require('./prune').pruneCommand,
  pull: () => (a, c) => require('./pull').pullCommand(a, c, 'image pull'),
  push: () => require('./push').pushCommand,
  tag: () => (a, c) => require('./tag').tagCommand(a, c, 'image tag'),
  load: () => require('./load').loadCommand,
  save: () => require('./save').saveCommand,
  import: () => require('./import').importCommand,
};

export async function imageCommand(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    ctx.out(`Usage:  carton image COMMAND\n\nManage images\n\nCommands:\n  ${Object.keys(SUB).join('\n  ')}\n`);
    return 0;
  }
  const load = SUB[sub];
  if (!load) throw new CartonError('EINVAL_CONFIG', `unknown command "${sub}" for "carton image"\nSee 'carton image --help'.`, { exitCode: 1 });
  return load()(rest, ctx);
}
