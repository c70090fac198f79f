/** `carton rmi [-f] IMAGE...` / `carton image rm`: Docker's Untagged:/Deleted: lines. */
import { asCartonError } from '../../common/errors';
import { familiarString, parseReference } from '../../image/reference';
import { CliContext, argCountError, bool, parseCommand } from './context';
import { registerInUse } from './images';

const HELP = {
  usage: 'rmi [OPTIONS] IMAGE [IMAGE...]',
  description: 'Remove one or more images',
  flags: [
    { name: 'force', short: 'f', type: 'bool' as const, help: 'Force removal of the image' },
    { name: 'no-prune', type: 'bool' as const, help: 'Do not delete untagged parents' },
  ],
};

/** "docker.io/library/busybox:latest" → "busybox:latest", as Docker prints names. */
export function familiar(name: string): string {
  try {
    return familiarString(parseReference(name));
  } catch {
    return name;
  }
}

export async function rmiCommand(argv: string[], ctx: CliContext, name = 'rmi'): Promise<number> {
  const p = parseCommand(name, argv, HELP, ctx);
  if (!p) return 0;
  if (p.positionals.length === 0) throw argCountError(name, HELP.usage, 'at least 1 argument');
  registerInUse(ctx);
  const store = ctx.store();
  let code = 0;
  for (const q of p.positionals) {
    try {
      if (!store.images.resolve(q)) {
        throw new Error(`Error response from daemon: No such image: ${q.includes(':') || q.includes('@') || /^(sha256:)?[0-9a-f]+$/.test(q) ? q : `${q}:latest`}`);
      }
      const lines = await store.images.remove(q, { force: bool(p, 'force') });
      for (const l of lines) ctx.out(l.startsWith('Untagged: ') ? `Untagged: ${familiar(l.slice(10))}\n` : `${l}\n`);
    } catch (err) {
      const msg = asCartonError(err).message;
      ctx.err(`${msg.startsWith('Error') ? msg : `Error response from daemon: ${msg}`}\n`);
      code = 1;
    }
  }
  return code;
}
