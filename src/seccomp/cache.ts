/**
 * A file cache of compiled seccomp programs. Compiling Docker's default profile costs
 * ~4.5 ms of every `carton run` (most of it V8 compiling the compiler and its syscall
 * tables on first use in a fresh process), and the profile is the same run after run:
 * the cache turns that into reading one small file.
 *
 * An entry is found by a hash of its key, but only used when the key stored inside it
 * equals the whole key (format, the compiler code's identity, the architecture, the
 * complete linux.seccomp object), so a hash collision or a changed compiler can only
 * cost a compile, never yield another profile's filter. The program's own checksum is
 * verified too. Entries are written atomically (temp file + rename) and only trusted
 * when the directory and the file belong to this user and nobody else can write them:
 * a planted entry could otherwise disable the filter. Any failure (no directory, read-only
 * /run, a damaged entry) falls back to compiling, and the result is the same either way.
 *
 * CARTON_SECCOMP_CACHE=0 turns the cache off (to measure what it saves).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LinuxSeccomp } from '../oci/spec';
import type { CompiledSeccomp } from './index';

const FORMAT = 'carton-seccomp-cache-1';
/** More entries than this and the directory is emptied: profiles are few, custom ones rare. */
const MAX_ENTRIES = 64;

export type Compile = (seccomp: LinuxSeccomp) => CompiledSeccomp;

export interface SeccompCacheOptions {
  /** Where entries live; undefined: no cache (compile every time). Default: defaultSeccompCacheDir(). */
  dir?: string;
  /** The compiler (tests count its calls); default: src/seccomp/index.ts's, loaded only on a miss. */
  compile?: Compile;
}

/** root: /run/carton-seccomp-cache (tmpfs, gone at reboot); others: under $XDG_RUNTIME_DIR, or none. */
export function defaultSeccompCacheDir(euid: number = process.geteuid?.() ?? 0, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CARTON_SECCOMP_CACHE === '0') return undefined;
  if (euid === 0) return '/run/carton-seccomp-cache';
  return env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'carton-seccomp-cache') : undefined;
}

/** compileSeccomp(seccomp) through the cache (only x86_64 hosts are supported, as by the compiler). */
export function compileSeccompCached(seccomp: LinuxSeccomp, arch: 'x86_64' = 'x86_64', opts: SeccompCacheOptions = {}): CompiledSeccomp {
  const compile = opts.compile ?? ((s: LinuxSeccomp) => (require('./index') as typeof import('./index')).compileSeccomp(s, { nativeArch: arch }));
  const dir = 'dir' in opts ? opts.dir : defaultSeccompCacheDir();
  if (!dir || process.env.CARTON_SECCOMP_CACHE === '0') return compile(seccomp);
  let key: string;
  try {
    key = JSON.stringify([FORMAT, compilerIdentity(), arch, seccomp]);
  } catch {
    return compile(seccomp);
  }
  const sum = crc32(key);
  if (!sum) return compile(seccomp);
  const file = path.join(dir, `${sum}-${key.length}.json`);
  const hit = readEntry(dir, file, key);
  if (hit) return withListener(hit, seccomp);
  const compiled = compile(seccomp);
  writeEntry(dir, file, key, compiled);
  return compiled;
}

interface Entry {
  format: string;
  key: string;
  program: string;
  programHash: string;
  flags: number;
  needsListener: boolean;
  skippedArchitectures: string[];
}

function readEntry(dir: string, file: string, key: string): CompiledSeccomp | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  let text: string;
  try {
    if (!trusted(fs.fstatSync(fd)) || !trusted(fs.statSync(dir))) return undefined;
    text = fs.readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
  let e: Entry;
  try {
    e = JSON.parse(text) as Entry;
  } catch {
    return undefined;
  }
  if (!e || e.format !== FORMAT || e.key !== key || typeof e.program !== 'string') return undefined;
  const program = Buffer.from(e.program, 'base64');
  // 8 bytes per instruction, at least one (the kernel refuses an empty program).
  if (program.length === 0 || program.length % 8 !== 0 || crc32(program) !== e.programHash) return undefined;
  if (typeof e.flags !== 'number' || typeof e.needsListener !== 'boolean' || !Array.isArray(e.skippedArchitectures)) return undefined;
  return {
    program: new Uint8Array(program.buffer, program.byteOffset, program.length),
    flags: e.flags,
    needsListener: e.needsListener,
    skippedArchitectures: e.skippedArchitectures.map(String),
  };
}

/** Written by this user and writable by nobody else. */
function trusted(st: fs.Stats): boolean {
  const euid = process.geteuid?.() ?? 0;
  return st.uid === euid && (st.mode & 0o022) === 0;
}

/** The listener fields come from the profile itself, as compileSeccomp sets them. */
function withListener(c: CompiledSeccomp, seccomp: LinuxSeccomp): CompiledSeccomp {
  if (c.needsListener) {
    c.listenerPath = seccomp.listenerPath;
    c.listenerMetadata = seccomp.listenerMetadata ?? '';
  }
  return c;
}

function writeEntry(dir: string, file: string, key: string, c: CompiledSeccomp): void {
  const program = Buffer.from(c.program.buffer, c.program.byteOffset, c.program.byteLength);
  const entry: Entry = {
    format: FORMAT,
    key,
    program: program.toString('base64'),
    programHash: crc32(program) ?? '',
    flags: c.flags,
    needsListener: c.needsListener,
    skippedArchitectures: c.skippedArchitectures,
  };
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!trusted(fs.statSync(dir))) return;
    prune(dir);
    fs.writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch {
    // Read-only or full /run, a racing writer: the next run compiles again, nothing more.
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* not created */
    }
  }
}

function prune(dir: string): void {
  const names = fs.readdirSync(dir);
  if (names.length < MAX_ENTRIES) return;
  for (const n of names) {
    try {
      fs.unlinkSync(path.join(dir, n));
    } catch {
      /* removed by another process */
    }
  }
}

let identity: string | undefined;

/**
 * What the compiled program depends on besides the profile: the compiler's code. Bundled,
 * __filename is the bundle (size, mtime, inode change with every build); unbundled, the
 * compiled modules of this directory.
 */
export function compilerIdentity(): string {
  if (identity !== undefined) return identity;
  const files = [__filename];
  if (path.basename(__filename) === 'cache.js') {
    for (const n of fs.readdirSync(__dirname).sort()) {
      if (n.endsWith('.js') && !n.endsWith('.test.js') && n !== 'cache.js') files.push(path.join(__dirname, n));
    }
  }
  identity = files
    .map((f) => {
      const st = fs.statSync(f);
      return `${f}:${st.size}:${st.mtimeMs}:${st.ino}`;
    })
    .join(';');
  return identity;
}

/**
 * zlib's CRC-32 through its binding, as bin/bundle-loader.js takes it: `require('zlib')`
 * costs ~2 ms of start-up and a CRC in JavaScript ~2 ms more, cold. A CRC names the file
 * and catches a damaged program; the full key inside the entry decides a hit.
 * undefined (no cache) where the binding is not there.
 */
function crc32Function(): ((data: Uint8Array) => number) | undefined {
  try {
    const f = (process as unknown as { binding(name: string): { crc32?: (d: Uint8Array, seed: number) => number } }).binding('zlib').crc32;
    return typeof f === 'function' ? (d) => f(d, 0) >>> 0 : undefined;
  } catch {
    return undefined;
  }
}

let crc: ((data: Uint8Array) => number) | null | undefined = null;

export function crc32(data: string | Uint8Array): string | undefined {
  if (crc === null) crc = crc32Function();
  if (!crc) return undefined;
  return crc(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString(16).padStart(8, '0');
}
