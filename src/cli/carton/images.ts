/** `carton images` / `carton image ls`: Docker's table, -q, --digests, --no-trunc, --format. */
import { familiarName, parseReference } from '../../image/reference';
import type { ImageRecord } from '../../storage/store';
import { ContainerStore } from '../../engine/containers';
import { alignTable, renderFormat } from '../../engine/format';
import { dockerTimestamp, humanDuration, humanSize } from '../../engine/units';
import { CliContext, bool, parseCommand, str } from './context';

const HELP = {
  usage: 'images [OPTIONS] [REPOSITORY[:TAG]]',
  description: 'List images',
  flags: [
    { name: 'all', short: 'a', type: 'bool' as const, help: 'Show all images (default hides intermediate images)' },
    { name: 'quiet', short: 'q', type: 'bool' as const, help: 'Only show image IDs' },
    { name: 'digests', type: 'bool' as const, help: 'Show digests' },
    { name: 'no-trunc', type: 'bool' as const, help: "Don't truncate output" },
    { name: 'format', type: 'string' as const, value: 'string', help: "Format output using a Go template ('{{json .}}')" },
    { name: 'filter', short: 'f', type: 'strings' as const, value: 'filter', help: 'Filter output (dangling=true|false, reference=PATTERN)' },
  ],
};

export interface ImageRow {
  Containers: string;
  CreatedAt: string;
  CreatedSince: string;
  Digest: string;
  ID: string;
  Repository: string;
  SharedSize: string;
  Size: string;
  Tag: string;
  UniqueSize: string;
  VirtualSize: string;
}

/** One row per name (Docker lists an image once per repository:tag, `<none>` when untagged). */
export function imageRows(images: ImageRecord[], noTrunc: boolean, now = Date.now()): ImageRow[] {
  const rows: ImageRow[] = [];
  const sorted = [...images].sort((a, b) => Date.parse(b.created ?? b.addedAt) - Date.parse(a.created ?? a.addedAt));
  for (const img of sorted) {
    const created = img.created ?? img.addedAt;
    const base = {
      Containers: 'N/A',
      CreatedAt: dockerTimestamp(created),
      CreatedSince: `${humanDuration(now - Date.parse(created))} ago`,
      ID: noTrunc ? img.id : img.id.replace(/^sha256:/, '').slice(0, 12),
      SharedSize: 'N/A',
      Size: humanSize(img.size),
      UniqueSize: 'N/A',
      VirtualSize: humanSize(img.size),
    };
    const digestFor = (repo: string): string => {
      const d = img.repoDigests.find((rd) => rd.startsWith(`${repo}@`));
      return d ? d.slice(d.indexOf('@') + 1) : '<none>';
    };
    const names = img.names.map((n) => {
      try {
        return parseReference(n);
      } catch {
        return undefined;
      }
    }).filter((r): r is NonNullable<typeof r> => r !== undefined);
    if (names.length === 0) {
      const digestRefs = img.repoDigests.map((d) => parseReference(d));
      if (digestRefs.length > 0) {
        for (const r of digestRefs) rows.push({ ...base, Repository: familiarName(r), Tag: '<none>', Digest: r.digest ?? '<none>' });
      } else {
        rows.push({ ...base, Repository: '<none>', Tag: '<none>', Digest: '<none>' });
      }
      continue;
    }
    for (const r of names) {
      rows.push({ ...base, Repository: familiarName(r), Tag: r.tag ?? '<none>', Digest: digestFor(`${r.domain}/${r.path}`) });
    }
  }
  return rows;
}

function matchesReference(row: ImageRow, pattern: string): boolean {
  const [repo, tag] = pattern.includes(':') ? pattern.split(':', 2) : [pattern, undefined];
  const glob = (p: string, s: string): boolean => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.')}$`).test(s);
  return glob(repo, row.Repository) && (tag === undefined || glob(tag, row.Tag));
}

export async function imagesCommand(argv: string[], ctx: CliContext): Promise<number> {
  const p = parseCommand('images', argv, HELP, ctx);
  if (!p) return 0;
  const store = ctx.store();
  const noTrunc = bool(p, 'no-trunc');
  let rows = imageRows(store.images.list(), noTrunc);
  const filters = (p.values.filter as string[]) ?? [];
  for (const f of filters) {
    const [key, value] = f.split('=', 2);
    if (key === 'dangling') rows = rows.filter((r) => (r.Repository === '<none>') === (value === 'true'));
    else if (key === 'reference') rows = rows.filter((r) => matchesReference(r, value ?? ''));
    else throw Object.assign(new Error(`invalid filter '${key}'`), {});
  }
  if (p.positionals[0] !== undefined) rows = rows.filter((r) => matchesReference(r, p.positionals[0]));
  if (bool(p, 'quiet')) {
    const seen = new Set<string>();
    for (const r of rows) {
      if (seen.has(r.ID)) continue;
      seen.add(r.ID);
      ctx.out(`${r.ID}\n`);
    }
    return 0;
  }
  const format = str(p, 'format');
  if (format !== undefined && format !== 'table') {
    ctx.out(renderFormat(format, rows, { ID: 'IMAGE ID', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT' }));
    return 0;
  }
  const digests = bool(p, 'digests');
  const header = digests
    ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE']
    : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
  const table = [header];
  for (const r of rows) {
    table.push(digests ? [r.Repository, r.Tag, r.Digest, r.ID, r.CreatedSince, r.Size] : [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size]);
  }
  ctx.out(alignTable(table));
  return 0;
}

/** Registers the containers' use of images with the store, so rmi refuses images in use. */
export function registerInUse(ctx: CliContext): void {
  const containers = new ContainerStore(ctx.root);
  ctx.store().images.setInUseCheck((id) => containers.list().filter((r) => r.ImageID === id).map((r) => r.Id));
}
