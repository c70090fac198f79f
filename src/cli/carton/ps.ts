/** `carton ps [-a] [-q] [--no-trunc] [--format TEMPLATE]` with Docker's columns and JSON. */
import { ContainerRecord, ContainerStore, commandColumn } from '../../engine/containers';
import { alignTable, renderFormat } from '../../engine/format';
import { dockerTimestamp, humanDuration } from '../../engine/units';
import { CliContext, bool, parseCommand, str } from './context';

const HELP = {
  usage: 'ps [OPTIONS]',
  description: 'List containers',
  flags: [
    { name: 'all', short: 'a', type: 'bool' as const, help: 'Show all containers (default shows just running)' },
    { name: 'quiet', short: 'q', type: 'bool' as const, help: 'Only display container IDs' },
    { name: 'no-trunc', type: 'bool' as const, help: "Don't truncate output" },
    { name: 'format', type: 'string' as const, value: 'string', help: "Format output using a Go template ('{{json .}}')" },
  ],
};

/** "Up 3 seconds", "Exited (0) 3 seconds ago", "Created". */
export function statusText(r: ContainerRecord, now = Date.now()): string {
  if (r.State.Status === 'running') return `Up ${humanDuration(now - Date.parse(r.State.StartedAt))}`;
  if (r.State.Status === 'exited') return `Exited (${r.State.ExitCode}) ${humanDuration(now - Date.parse(r.State.FinishedAt))} ago`;
  return 'Created';
}

/** The fields Docker's `ps --format '{{json .}}'` prints, with Docker's names. */
export function psRow(r: ContainerRecord, noTrunc: boolean, now = Date.now()): Record<string, string> {
  return {
    Command: commandColumn(r, noTrunc),
    CreatedAt: dockerTimestamp(r.Created),
    ID: noTrunc ? r.Id : r.Id.slice(0, 12),
    Image: r.Image,
    Labels: '',
    LocalVolumes: String(r.AnonymousVolumes.length),
    Mounts: r.Mounts.map((m) => m.Source).join(','),
    Names: r.Name,
    Networks: r.NetworkMode,
    Ports: '',
    RunningFor: `${humanDuration(now - Date.parse(r.Created))} ago`,
    Size: '0B',
    State: r.State.Status,
    Status: statusText(r, now),
  };
}

export async function psCommand(argv: string[], ctx: CliContext): Promise<number> {
  const p = parseCommand('ps', argv, HELP, ctx);
  if (!p) return 0;
  const noTrunc = bool(p, 'no-trunc');
  const records = new ContainerStore(ctx.root).list().filter((r) => bool(p, 'all') || r.State.Status === 'running');
  if (bool(p, 'quiet')) {
    ctx.out(records.map((r) => `${noTrunc ? r.Id : r.Id.slice(0, 12)}\n`).join(''));
    return 0;
  }
  const rows = records.map((r) => psRow(r, noTrunc));
  const format = str(p, 'format');
  if (format !== undefined && format !== 'table') {
    ctx.out(renderFormat(format, rows, { ID: 'CONTAINER ID', RunningFor: 'CREATED', CreatedAt: 'CREATED AT' }));
    return 0;
  }
  const table = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const r of rows) table.push([r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names]);
  ctx.out(alignTable(table));
  return 0;
}
