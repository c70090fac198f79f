/**
 * The values of `carton run` flags, parsed from text into structures (pure). Wording of
 * errors follows Docker's, since scripts and users compare against it; all exit 125.
 */
import { CartonError } from '../common/errors';

export type NetworkMode = 'none' | 'host' | 'default';
export type SeccompChoice = { kind: 'default' } | { kind: 'unconfined' } | { kind: 'file'; path: string };

export interface UserMount {
  type: 'bind' | 'tmpfs' | 'volume';
  /** Host path (bind), volume name (volume; '' = anonymous), unused for tmpfs. */
  source: string;
  target: string;
  readonly: boolean;
  /** Extra mount options (tmpfs size/mode, propagation). */
  options: string[];
  /** -v creates a missing host directory; --mount refuses it (Docker's behaviour). */
  createSource: boolean;
}

export interface RunOptions {
  rm: boolean;
  interactive: boolean;
  tty: boolean;
  name?: string;
  /** -e and --env-file entries already merged in Docker's order (files first), KEY=VAL only. */
  env: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  /** undefined: not given; '' : `--entrypoint ''` (clear it). */
  entrypoint?: string;
  memory?: number;
  nanoCpus?: number;
  pidsLimit?: number;
  /** --cgroup-parent: the container's cgroup is `<parent>/<id>` (default /carton). */
  cgroupParent?: string;
  mounts: UserMount[];
  readOnly: boolean;
  capAdd: string[];
  capDrop: string[];
  noNewPrivileges: boolean;
  seccomp: SeccompChoice;
  privileged: boolean;
  network: NetworkMode;
  shmSize?: number;
}

function bad(message: string): CartonError {
  return new CartonError('EINVAL_CONFIG', message, { exitCode: 125 });
}

/**
 * -e entries: KEY=VAL as given; a bare KEY takes the value from Carton's own environment
 * and is dropped when unset there (Docker's client does this).
 */
export function expandEnv(entries: string[], hostEnv: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.startsWith('=')) throw bad(`invalid argument "${e}" for "-e, --env" flag: invalid environment variable: ${e}`);
    if (e.includes('=')) out.push(e);
    else if (hostEnv[e] !== undefined) out.push(`${e}=${hostEnv[e]}`);
  }
  return out;
}

/** An --env-file's text: one KEY=VAL per line, # comments and blank lines ignored. */
export function parseEnvFile(text: string, file: string, hostEnv: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '').replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq >= 0 ? line.slice(0, eq) : line.trimEnd();
    if (key === '' || /\s/.test(key)) throw bad(`${file}: variable '${key}' contains whitespaces`);
    if (eq >= 0) out.push(line);
    else if (hostEnv[key] !== undefined) out.push(`${key}=${hostEnv[key]}`);
  }
  return out;
}

const VOLUME_OPTS = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'delegated', 'cached', 'consistent']);

/** `-v HOST:CTR[:opts]`, `-v NAME:CTR[:opts]`, `-v CTR` (anonymous volume). */
export function parseVolumeFlag(spec: string): UserMount {
  const parts = spec.split(':');
  const invalid = (): CartonError => bad(`invalid volume specification: '${spec}'`);
  if (parts.some((p) => p === '') || parts.length > 3) throw invalid();
  let source = '';
  let target: string;
  let opts: string[] = [];
  if (parts.length === 1) {
    target = parts[0];
  } else if (parts.length === 2 && !parts[1].startsWith('/') && parts[0].startsWith('/') === true && parts[1].split(',').every((o) => VOLUME_OPTS.has(o))) {
    // "/ctr:ro" — an anonymous volume with options.
    target = parts[0];
    opts = parts[1].split(',');
  } else {
    source = parts[0];
    target = parts[1];
    opts = parts.length === 3 ? parts[2].split(',') : [];
  }
  for (const o of opts) if (!VOLUME_OPTS.has(o)) throw bad(`invalid mode: ${o}`);
  if (!target.startsWith('/')) throw bad(`invalid mount config for type "${source.startsWith('/') ? 'bind' : 'volume'}": invalid mount path: '${target}' mount path must be absolute`);
  if (target === '/') throw bad(`invalid specification: destination can't be '/'`);
  const propagation = opts.filter((o) => /^r?(private|shared|slave)$/.test(o));
  return {
    type: source.startsWith('/') ? 'bind' : 'volume',
    source,
    target: normalizeTarget(target),
    readonly: opts.includes('ro'),
    options: propagation,
    createSource: true,
  };
}

/** `--mount type=bind,source=/a,target=/b,readonly` and `type=tmpfs,target=/t,tmpfs-size=64m`. */
export function parseMountFlag(spec: string, parseBytes: (v: string, flag: string) => number): UserMount {
  const fields = new Map<string, string | undefined>();
  for (const item of spec.split(',')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = (eq >= 0 ? item.slice(0, eq) : item).trim().toLowerCase();
    fields.set(key, eq >= 0 ? item.slice(eq + 1) : undefined);
  }
  const invalid = (why: string): CartonError => bad(`invalid argument "${spec}" for "--mount" flag: ${why}`);
  const type = fields.get('type') ?? 'volume';
  if (type !== 'bind' && type !== 'tmpfs' && type !== 'volume') throw invalid(`invalid mount type: ${type}`);
  const target = fields.get('target') ?? fields.get('destination') ?? fields.get('dst');
  const source = fields.get('source') ?? fields.get('src') ?? '';
  if (!target) throw bad(`invalid mount config for type "${type}": field Target must not be empty`);
  if (!target.startsWith('/')) throw bad(`invalid mount config for type "${type}": invalid mount path: '${target}' mount path must be absolute`);
  let readonly = false;
  for (const key of ['readonly', 'ro']) {
    if (!fields.has(key)) continue;
    const v = fields.get(key);
    if (v === undefined || /^(1|true)$/i.test(v)) readonly = true;
    else if (!/^(0|false)$/i.test(v)) throw invalid(`invalid value for ${key}: ${v}`);
  }
  const options: string[] = [];
  const known = new Set(['type', 'target', 'destination', 'dst', 'source', 'src', 'readonly', 'ro', 'tmpfs-size', 'tmpfs-mode', 'bind-propagation', 'volume-nocopy', 'consistency']);
  for (const key of fields.keys()) if (!known.has(key)) throw invalid(`unexpected key '${key}' in '${key}=${fields.get(key) ?? ''}'`);
  if (type === 'tmpfs') {
    if (source !== '') throw bad(`invalid mount config for type "tmpfs": field Source must not be specified`);
    const size = fields.get('tmpfs-size');
    if (size !== undefined) options.push(`size=${tmpfsSize(parseBytes(size, '--mount'))}`);
    const mode = fields.get('tmpfs-mode');
    if (mode !== undefined) {
      if (!/^[0-7]{1,4}$/.test(mode)) throw invalid(`invalid value for tmpfs-mode: ${mode}`);
      options.push(`mode=${Number.parseInt(mode, 8).toString(8)}`);
    }
  } else {
    if (type === 'bind' && source === '') throw bad(`invalid mount config for type "bind": field Source must not be empty`);
    if (type === 'bind' && !source.startsWith('/')) throw bad(`invalid mount config for type "bind": invalid mount path: '${source}' mount path must be absolute`);
    const prop = fields.get('bind-propagation');
    if (prop !== undefined) {
      if (!/^r?(private|shared|slave)$/.test(prop)) throw invalid(`invalid value for bind-propagation: ${prop}`);
      options.push(prop);
    }
    if (fields.get('tmpfs-size') !== undefined || fields.get('tmpfs-mode') !== undefined) {
      throw bad(`invalid mount config for type "${type}": cannot mix 'tmpfs-*' options with mount type '${type}'`);
    }
  }
  return { type, source, target: normalizeTarget(target), readonly, options, createSource: false };
}

/** Docker writes tmpfs sizes with the largest unit that divides them exactly. */
function tmpfsSize(bytes: number): string {
  for (const [unit, n] of [['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return String(bytes);
}

/** `--tmpfs /run` or `--tmpfs /run:rw,size=64m,mode=1777`. */
export function parseTmpfsFlag(spec: string): UserMount {
  const colon = spec.indexOf(':');
  const target = colon >= 0 ? spec.slice(0, colon) : spec;
  const opts = colon >= 0 ? spec.slice(colon + 1).split(',').filter(Boolean) : [];
  if (!target.startsWith('/')) throw bad(`invalid mount config for type "tmpfs": invalid mount path: '${target}' mount path must be absolute`);
  return { type: 'tmpfs', source: '', target: normalizeTarget(target), readonly: opts.includes('ro'), options: opts.filter((o) => o !== 'ro' && o !== 'rw'), createSource: false };
}

function normalizeTarget(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

/** `--security-opt` values: no-new-privileges[=true|false], seccomp=unconfined|FILE; others refused. */
export function applySecurityOpts(opts: string[]): { noNewPrivileges: boolean; seccomp: SeccompChoice } {
  let noNewPrivileges = false;
  let seccomp: SeccompChoice = { kind: 'default' };
  for (const opt of opts) {
    const sep = opt.search(/[=:]/);
    const key = sep >= 0 ? opt.slice(0, sep) : opt;
    const value = sep >= 0 ? opt.slice(sep + 1) : undefined;
    if (key === 'no-new-privileges') {
      if (value === undefined || value === 'true') noNewPrivileges = true;
      else if (value === 'false') noNewPrivileges = false;
      else throw bad(`invalid --security-opt 2: "${opt}"`);
    } else if (key === 'seccomp' && value !== undefined && value !== '') {
      seccomp = value === 'unconfined' ? { kind: 'unconfined' } : { kind: 'file', path: value };
    } else if ((key === 'apparmor' || key === 'label') && value !== undefined) {
      // No AppArmor/SELinux on Carton's hosts: accepted and ignored, as Docker does when disabled.
    } else {
      throw bad(`invalid --security-opt 1: "${opt}"`);
    }
  }
  return { noNewPrivileges, seccomp };
}

export function parseNetwork(value: string | undefined): NetworkMode {
  if (value === undefined || value === '' || value === 'default' || value === 'bridge') return 'default';
  if (value === 'none' || value === 'host') return value;
  throw bad(`network ${value} not found`);
}
