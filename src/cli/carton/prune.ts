/** `carton image prune [-a] [-f]`: remove dangling (or all unused) images and free their layers. */
import { CliContext, bool, parseCommand } from './context';
import { registerInUse } from './images';
import { ContainerStore } from '../../engine/containers';
import { humanSize } from '../../engine/units';

const HELP = {
  usage: 'image prune [OPTIONS]',
  description: 'Remove unused images',
  flags: [
    { name: 'all', short: 'a', type: 'bool' as const, help: 'Remove all unused images, not just dangling ones' },
    { name: 'force', short: 'f', type: 'bool' as const, help: 'Do not prompt for confirmation' },
  ],
};

export async function pruneCommand(argv: string[], ctx: CliContext): Promise<number> {
  const p = parseCommand('image prune', argv, HELP, ctx);
  if (!p) return 0;
  registerInUse(ctx);
  const store = ctx.store();
  const used = new Set(new ContainerStore(ctx.root).list().map((r) => r.ImageID).filter(Boolean));
  const victims = store.images.list().filter((i) => !used.has(i.id) && (bool(p, 'all') || i.names.length === 0));
  const lines: string[] = [];
  let reclaimed = 0;
  for (const img of victims) {
    reclaimed += img.size;
    const out = await store.images.remove(img.id, { force: true });
    for (const l of out) lines.push(l.replace(/^Untagged: /, 'untagged: ').replace(/^Deleted: /, 'deleted: '));
  }
  store.layers.prune();
  if (lines.length > 0) ctx.out(`Deleted Images:\n${lines.join('\n')}\n\n`);
  ctx.out(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
  return 0;
}
