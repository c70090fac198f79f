/**
 * Progress of pulls and pushes: the events pull()/push() emit, and a renderer that prints
 * them as Docker does — on a terminal one line per layer, redrawn in place with a bar
 * (`a3ed95caeb02: Downloading [=====>    ]  1.2MB/3.4MB`); otherwise plain lines, one per
 * status change and no byte counts, so logs stay readable.
 */

export type LayerStatus =
  | 'Pulling fs layer'
  | 'Waiting'
  | 'Downloading'
  | 'Verifying Checksum'
  | 'Download complete'
  | 'Extracting'
  | 'Pull complete'
  | 'Already exists'
  | 'Retrying'
  | 'Preparing'
  | 'Pushing'
  | 'Pushed'
  | 'Layer already exists'
  | 'Mounted';

export type PullEvent =
  | { type: 'pulling'; tag: string; repository: string; reference: string }
  | { type: 'layer'; id: string; status: LayerStatus; current?: number; total?: number; attempt?: number; reason?: string; from?: string }
  | { type: 'retry'; what: string; attempt: number; reason: string }
  | { type: 'digest'; digest: string }
  | { type: 'status'; message: string };

export type PushEvent =
  | { type: 'pushing'; repository: string }
  | Extract<PullEvent, { type: 'layer' }>
  | Extract<PullEvent, { type: 'retry' }>
  | { type: 'pushed'; tag: string; digest: string; size: number };

export type ProgressEvent = PullEvent | PushEvent;

/** Docker's human sizes: decimal units, 4 significant digits (`528.4kB`, `2.109MB`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${Number(v.toPrecision(4))}${units[u]}`;
}

const BAR_WIDTH = 50;

/** `[=====>     ]  1.2MB/3.4MB` */
export function progressBar(current: number, total: number): string {
  if (!(total > 0)) return humanSize(current);
  const filled = Math.min(BAR_WIDTH, Math.floor((current / total) * BAR_WIDTH));
  const bar = filled >= BAR_WIDTH ? '='.repeat(BAR_WIDTH) : '='.repeat(filled) + '>' + ' '.repeat(BAR_WIDTH - filled - 1);
  return `[${bar}]  ${humanSize(current)}/${humanSize(total)}`;
}

export interface Output {
  write(s: string): unknown;
  isTTY?: boolean;
  /** Terminal width; lines are cut to it so a wrapped line cannot break the redraw. */
  columns?: number;
}

/** Renders ProgressEvents to a stream; `tty` defaults to the stream's isTTY. */
export class ProgressRenderer {
  private readonly tty: boolean;
  /** Layer ids in the order their lines were printed (terminal mode). */
  private readonly lines: string[] = [];
  private readonly lastPlain = new Map<string, string>();
  private reference: string | undefined;

  constructor(private readonly out: Output, opts: { tty?: boolean; quiet?: boolean } = {}) {
    this.tty = opts.tty ?? out.isTTY === true;
    this.quiet = opts.quiet ?? false;
  }
  private readonly quiet: boolean;

  /** The callback to hand to pull()/push() as onProgress. */
  readonly handle = (e: ProgressEvent): void => {
    if (this.quiet) return;
    switch (e.type) {
      case 'pulling':
        this.reference = e.reference;
        this.out.write(`${e.tag}: Pulling from ${e.repository}\n`);
        break;
      case 'pushing':
        this.out.write(`The push refers to repository [${e.repository}]\n`);
        break;
      case 'layer':
        this.layer(e);
        break;
      case 'retry':
        if (!this.tty) this.out.write(`Retrying ${e.what} (attempt ${e.attempt}): ${e.reason}\n`);
        break;
      case 'digest':
        this.out.write(`Digest: ${e.digest}\n`);
        break;
      case 'status':
        this.out.write(`Status: ${e.message}\n`);
        if (this.reference) this.out.write(`${this.reference}\n`);
        break;
      case 'pushed':
        this.out.write(`${e.tag}: digest: ${e.digest} size: ${e.size}\n`);
        break;
    }
  };

  private text(e: Extract<ProgressEvent, { type: 'layer' }>): string {
    if ((e.status === 'Downloading' || e.status === 'Pushing') && e.current !== undefined) {
      return `${e.id}: ${e.status} ${progressBar(e.current, e.total ?? 0)}`;
    }
    if (e.status === 'Retrying') return `${e.id}: Retrying${e.attempt ? ` (attempt ${e.attempt})` : ''}`;
    if (e.status === 'Mounted') return `${e.id}: Mounted from ${e.from ?? ''}`;
    return `${e.id}: ${e.status}`;
  }

  private layer(e: Extract<ProgressEvent, { type: 'layer' }>): void {
    let line = this.text(e);
    const width = this.out.columns;
    if (this.tty && width && width > 1 && line.length >= width) line = line.slice(0, width - 1);
    if (!this.tty) {
      // Byte counts would flood a log; print each status once.
      if (e.status === 'Downloading' || e.status === 'Pushing') {
        if (this.lastPlain.get(e.id) === e.status) return;
        this.lastPlain.set(e.id, e.status);
        this.out.write(`${e.id}: ${e.status}\n`);
        return;
      }
      this.lastPlain.set(e.id, e.status);
      this.out.write(`${line}\n`);
      return;
    }
    const idx = this.lines.indexOf(e.id);
    if (idx === -1) {
      this.lines.push(e.id);
      this.out.write(`${line}\n`);
      return;
    }
    const up = this.lines.length - idx;
    // Up to the layer's line, clear it, write, and come back down.
    this.out.write(`\x1b[${up}A\r\x1b[2K${line}\r\x1b[${up}B`);
  }
}
