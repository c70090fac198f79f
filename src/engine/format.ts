/**
 * The small part of Go's text/template that `--format` is used with in practice:
 * `{{json .}}`, `{{.Field}}`, `{{.A.B}}`, `{{json .Field}}`, `{{index .Labels "k"}}`,
 * a leading `table` (header row, tab-aligned) and `\t` / `\n` escapes as Docker's CLI
 * reads them. Anything else is refused with Docker's wording rather than misprinted.
 */
import { CartonError } from '../common/errors';

type Node = { kind: 'text'; text: string } | { kind: 'action'; fn: 'json' | 'value' | 'index' | 'upper' | 'lower'; path: string[]; key?: string };

function badTemplate(format: string, why: string): CartonError {
  return new CartonError('EINVAL_CONFIG', `template parsing error: template: :1: ${why}`, { exitCode: 125, hint: `format ${JSON.stringify(format)}` });
}

function parsePath(expr: string, format: string): string[] {
  if (expr === '.') return [];
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(expr)) throw badTemplate(format, `unexpected "${expr}" in operand`);
  return expr.slice(1).split('.');
}

export function compileTemplate(format: string): Node[] {
  const nodes: Node[] = [];
  const re = /\{\{-?\s*(.*?)\s*-?\}\}/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(format)) !== null) {
    if (m.index > last) nodes.push({ kind: 'text', text: format.slice(last, m.index) });
    last = m.index + m[0].length;
    const words = m[1].match(/"[^"]*"|\S+/g) ?? [];
    if (words.length === 1) {
      nodes.push({ kind: 'action', fn: 'value', path: parsePath(words[0], format) });
    } else if (words.length === 2 && (words[0] === 'json' || words[0] === 'upper' || words[0] === 'lower')) {
      nodes.push({ kind: 'action', fn: words[0], path: parsePath(words[1], format) });
    } else if (words.length === 3 && words[0] === 'index' && /^".*"$/.test(words[2])) {
      nodes.push({ kind: 'action', fn: 'index', path: parsePath(words[1], format), key: words[2].slice(1, -1) });
    } else {
      throw badTemplate(format, `function "${words[0] ?? ''}" not defined`);
    }
  }
  if (last < format.length) nodes.push({ kind: 'text', text: format.slice(last) });
  if (format.slice(last).includes('{{')) throw badTemplate(format, 'unclosed action');
  return nodes;
}

function lookup(value: unknown, path: string[], format: string): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || typeof v !== 'object') throw badTemplate(format, `can't evaluate field ${key}`);
    const obj = v as Record<string, unknown>;
    if (!(key in obj)) throw new CartonError('EINVAL_CONFIG', `template: :1: executing "" at <.${path.join('.')}>: can't evaluate field ${key}`, { exitCode: 125 });
    v = obj[key];
  }
  return v;
}

/** How Go's template prints a value with {{.X}}: maps as map[k:v], slices as [a b], null as <no value>. */
function goString(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, x]) => `${k}:${goString(x)}`).join(' ')}]`;
  }
  return String(v);
}

export function executeTemplate(nodes: Node[], data: unknown, format = ''): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') {
      out += n.text;
      continue;
    }
    const v = lookup(data, n.path, format);
    if (n.fn === 'json') out += JSON.stringify(v ?? null);
    else if (n.fn === 'upper') out += goString(v).toUpperCase();
    else if (n.fn === 'lower') out += goString(v).toLowerCase();
    else if (n.fn === 'index') out += goString(v && typeof v === 'object' ? (v as Record<string, unknown>)[n.key!] : undefined).replace('<no value>', '');
    else out += goString(v);
  }
  return out;
}

/** Docker's pre-processing of --format: `table` prefix, trimmed, `\t` and `\n` escapes. */
export function prepareFormat(format: string): { table: boolean; body: string } {
  const table = format.startsWith('table ') || format === 'table';
  let body = table ? format.slice(5) : format;
  body = body.trim().replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return { table, body };
}

/** Render rows with a --format string; `headers` names the columns for `table` formats. */
export function renderFormat(format: string, rows: unknown[], headers: Record<string, string> = {}): string {
  const { table, body } = prepareFormat(format);
  const nodes = compileTemplate(body);
  const lines = rows.map((r) => executeTemplate(nodes, r, format));
  if (!table) return lines.map((l) => l + '\n').join('');
  const headerRow = executeTemplate(nodes, new Proxy({}, { get: (_t, key: string) => headers[key] ?? key.toUpperCase(), has: () => true }), format);
  return alignTable([headerRow, ...lines].map((l) => l.split('\t')));
}

/** Columns padded like Go's tabwriter with Docker's settings (min width 20 for ids is the caller's business). */
export function alignTable(rows: string[][], padding = 3): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => { if (i < r.length - 1) widths[i] = Math.max(widths[i] ?? 0, [...cell].length); });
  return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell + ' '.repeat(widths[i] - [...cell].length + padding) : cell)).join('').trimEnd() + '\n').join('');
}
