/** `carton tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`. */
import { CartonError } from '../../common/errors';
import { formatReference, parseReference } from '../../image/reference';
import { CliContext, argCountError, parseCommand } from './context';

const HELP = { usage: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', flags: [] };

export async function tagCommand(argv: string[], ctx: CliContext, name = 'tag'): Promise<number> {
  const p = parseCommand(name, argv, HELP, ctx);
  if (!p) return 0;
  if (p.positionals.length !== 2) throw argCountError(name, HELP.usage, 'exactly 2 arguments');
  const [source, target] = p.positionals;
  const ref = parseReference(target);
  if (ref.digest) throw new CartonError('EINVAL_CONFIG', 'refusing to create a tag with a digest reference', { exitCode: 1 });
  const store = ctx.store();
  const img = store.images.resolve(source);
  if (!img) throw new CartonError('ENOTFOUND', `Error response from daemon: No such image: ${source}`, { exitCode: 1 });
  await store.images.tag(img.id, formatReference(ref));
  return 0;
}
