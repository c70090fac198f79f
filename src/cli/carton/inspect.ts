/** `carton inspect` / `carton image inspect`: a JSON array shaped like Docker's. */
import { CartonError } from '../../common/errors';
import { familiarString, parseReference } from '../../image/reference';
import type { ImageRecord, Store } from '../../storage/store';
import { ContainerRecord, ContainerStore } from '../../engine/containers';
import { renderFormat } from '../../engine/format';
import { CliContext, argCountError, parseCommand, str } from './context';

const HELP = {
  usage: 'inspect [OPTIONS] NAME|ID [NAME|ID...]',
  description: 'Return low-level information on images (and containers)',
  flags: [
    { name: 'format', short: 'f', type: 'string' as const, value: 'string', help: 'Format output using a Go template' },
    { name: 'type', type: 'string' as const, value: 'string', help: 'Return JSON for specified type (image|container)' },
  ],
};

const familiar = (n: string): string => {
  try {
    return familiarString(parseReference(n));
  } catch {
    return n;
  }
};

/** Docker's image inspect object for a stored image. */
export function imageInspect(store: Store, img: ImageRecord): Record<string, unknown> {
  const config = store.images.config(img.id);
  const lowers = img.layers.map((l) => store.layers.get(l.chainId)?.diffDir).filter((d): d is string => !!d).reverse();
  return {
    Id: img.id,
    RepoTags: img.names.map(familiar),
    RepoDigests: img.repoDigests.map(familiar),
    Parent: '',
    Comment: (config.history ?? []).slice(-1)[0]?.comment ?? '',
    Created: img.created ?? config.created ?? img.addedAt,
    DockerVersion: (config.docker_version as string | undefined) ?? '',
    Author: config.author ?? '',
    Config: config.config ?? null,
    Architecture: img.architecture ?? config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: img.os ?? config.os,
    Size: img.size,
    GraphDriver: {
      Data: lowers.length > 1 ? { LowerDir: lowers.slice(1).join(':'), UpperDir: lowers[0] } : { UpperDir: lowers[0] ?? '' },
      Name: 'overlay2',
    },
    RootFS: { Type: 'layers', Layers: img.layers.map((l) => l.diffId) },
    Metadata: { LastTagTime: img.addedAt },
  };
}

/** Docker's container inspect shape, from Carton's record. */
export function containerInspect(r: ContainerRecord): Record<string, unknown> {
  return {
    Id: r.Id,
    Created: r.Created,
    Path: r.Path,
    Args: r.Args,
    State: {
      Status: r.State.Status,
      Running: r.State.Status === 'running',
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: r.State.Status === 'running' ? r.State.Pid : 0,
      ExitCode: r.State.ExitCode,
      Error: r.State.Error,
      StartedAt: r.State.StartedAt,
      FinishedAt: r.State.FinishedAt,
    },
    Image: r.ImageID ?? '',
    Name: `/${r.Name}`,
    Driver: r.ImageID ? 'overlay2' : '',
    Mounts: r.Mounts.map((m) => ({ Type: m.Type, Source: m.Source, Destination: m.Destination, Mode: '', RW: m.RW, Propagation: 'rprivate' })),
    Config: { Hostname: r.Hostname, Image: r.Image, Cmd: [r.Path, ...r.Args] },
    HostConfig: { AutoRemove: r.AutoRemove, NetworkMode: r.NetworkMode },
  };
}

export async function inspectCommand(argv: string[], ctx: CliContext, name = 'inspect', onlyImages = false): Promise<number> {
  const p = parseCommand(name, argv, HELP, ctx);
  if (!p) return 0;
  if (p.positionals.length === 0) throw argCountError(name, HELP.usage, 'at least 1 argument');
  const kind = onlyImages ? 'image' : str(p, 'type');
  const results: unknown[] = [];
  const missing: string[] = [];
  for (const q of p.positionals) {
    if (kind !== 'container') {
      const img = ctx.store().images.resolve(q);
      if (img) {
        results.push(imageInspect(ctx.store(), img));
        continue;
      }
    }
    if (kind !== 'image') {
      try {
        results.push(containerInspect(new ContainerStore(ctx.root).find(q)));
        continue;
      } catch {
        /* fall through to "No such object" */
      }
    }
    missing.push(q);
  }
  const format = str(p, 'format');
  if (format !== undefined) ctx.out(renderFormat(format, results));
  else ctx.out(`${JSON.stringify(results, null, 4)}\n`);
  if (missing.length > 0) {
    const what = kind === 'image' ? 'image' : kind === 'container' ? 'container' : 'object';
    throw new CartonError('ENOTFOUND', `Error: No such ${what}: ${missing.join(', ')}`, { exitCode: 1 });
  }
  return 0;
}
