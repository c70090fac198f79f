/**
 * A streaming tar parser: ustar, GNU long names/links ('L'/'K'), PAX extended headers
 * ('x' per entry, 'g' global) with path, linkpath, size, uid, gid, mtime, uname, gname,
 * SCHILY.devmajor/devminor and xattrs (SCHILY.xattr.* raw, LIBARCHIVE.xattr.* base64).
 *
 * Push-based: feed chunks with push(), the sink receives entry() → data()* → entryEnd().
 * The parser never allocates by a header's word: file bodies are streamed through, and
 * metadata bodies (PAX, long names) are capped at MAX_META bytes. Numbers that are
 * negative or beyond 2^53 are refused with a clear error rather than wrapped.
 */
import { CartonError } from '../common/errors';

export type TarEntryType = 'file' | 'link' | 'symlink' | 'chardev' | 'blockdev' | 'dir' | 'fifo';

export interface TarEntry {
  name: string;
  type: TarEntryType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch; PAX gives fractions. */
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes by full name ("security.capability"), values as raw bytes. */
  xattrs: Map<string, Buffer>;
}

export interface TarSink {
  entry(entry: TarEntry): void;
  data(chunk: Buffer): void;
  entryEnd(): void;
}

const BLOCK = 512;
/** Largest PAX / long-name body we buffer. Real ones are a few KiB. */
export const MAX_META = 1 << 20;

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink',
  '3': 'chardev', '4': 'blockdev', '5': 'dir', '6': 'fifo',
};

type State = 'header' | 'data' | 'meta' | 'pad' | 'done';

export class TarParser {
  private state: State = 'header';
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private remaining = 0;
  private padding = 0;
  private metaKind = '';
  private metaBuf: Buffer[] = [];
  private globalPax = new Map<string, string>();
  private localPax = new Map<string, string>();
  private longName: string | undefined;
  private longLink: string | undefined;
  private entryCount = 0;
  private consumed = 0;

  constructor(private readonly sink: TarSink, private readonly label = 'tar') {}

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.state === 'done') return; // trailing data after the end marker is ignored, as tar does
      if (this.state === 'data' || this.state === 'meta' || this.state === 'pad') {
        const want = this.state === 'pad' ? this.padding : this.remaining;
        const n = Math.min(want, chunk.length - off);
        const part = chunk.subarray(off, off + n);
        off += n;
        this.consumed += n;
        if (this.state === 'pad') {
          this.padding -= n;
          if (this.padding === 0) this.state = 'header';
          continue;
        }
        this.remaining -= n;
        if (this.state === 'data') this.sink.data(part);
        else this.metaBuf.push(Buffer.from(part));
        if (this.remaining === 0) this.finishBody();
        continue;
      }
      // header: gather exactly one block
      const n = Math.min(BLOCK - this.pendingLen, chunk.length - off);
      this.pending.push(chunk.subarray(off, off + n));
      this.pendingLen += n;
      off += n;
      this.consumed += n;
      if (this.pendingLen === BLOCK) {
        const block = Buffer.concat(this.pending, BLOCK);
        this.pending = [];
        this.pendingLen = 0;
        this.header(block);
      }
    }
  }

  /** Bytes of input consumed; inside entry() it is the offset of the entry's body. */
  get position(): number {
    return this.consumed;
  }

  /** Call at end of input: a stream that stops inside an entry is truncated. */
  end(): void {
    if (this.state === 'data' || this.state === 'meta' || (this.state === 'header' && this.pendingLen > 0)) {
      throw this.fail(`unexpected end of archive (truncated after ${this.entryCount} entries)`);
    }
    if (this.state === 'pad' && this.padding > 0) {
      // a missing final padding is tolerated (some writers stop right after the data)
    }
  }

  /** An error naming the archive (used by the field parsers too). */
  fail(msg: string): CartonError {
    return new CartonError('EINVAL_CONFIG', `${this.label}: ${msg}`);
  }

  private header(block: Buffer): void {
    if (isZero(block)) {
      this.state = 'done';
      return;
    }
    const stored = parseNumber(block, 148, 8, 'checksum', this);
    if (stored !== checksum(block)) throw this.fail(`bad header checksum at entry ${this.entryCount + 1}`);
    const flag = String.fromCharCode(block[156]);
    const size = parseNumber(block, 124, 12, 'size', this);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw this.fail(`${flag} header of ${size} bytes exceeds ${MAX_META}`);
      this.metaKind = flag;
      this.metaBuf = [];
      this.remaining = size;
      this.padding = pad(size);
      this.state = 'meta';
      if (size === 0) this.finishBody();
      return;
    }
    const type = TYPES[flag];
    if (!type) throw this.fail(`entry ${this.entryCount + 1}: unsupported type flag '${printable(flag)}'`);
    const magic = block.toString('latin1', 257, 263);
    let name = cstr(block, 0, 100);
    if (magic === 'ustar\0') {
      const prefix = cstr(block, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const pax = new Map([...this.globalPax, ...this.localPax]);
    const entry: TarEntry = {
      name: this.longName ?? name,
      type,
      size,
      mode: parseNumber(block, 100, 8, 'mode', this) & 0o7777,
      uid: parseNumber(block, 108, 8, 'uid', this),
      gid: parseNumber(block, 116, 8, 'gid', this),
      mtime: parseNumber(block, 136, 12, 'mtime', this),
      linkname: this.longLink ?? cstr(block, 157, 100),
      uname: cstr(block, 265, 32),
      gname: cstr(block, 297, 32),
      devmajor: type === 'chardev' || type === 'blockdev' ? parseNumber(block, 329, 8, 'devmajor', this) : 0,
      devminor: type === 'chardev' || type === 'blockdev' ? parseNumber(block, 337, 8, 'devminor', this) : 0,
      xattrs: new Map(),
    };
    this.applyPax(entry, pax);
    this.localPax = new Map();
    this.longName = undefined;
    this.longLink = undefined;
    // hardlinks, symlinks, devices, dirs and fifos carry no body whatever their size field says
    if (entry.type !== 'file') entry.size = 0;
    this.entryCount++;
    this.sink.entry(entry);
    this.remaining = entry.size;
    this.padding = pad(entry.size);
    this.state = 'data';
    if (entry.size === 0) this.finishBody();
  }

  private finishBody(): void {
    if (this.state === 'meta') {
      const body = Buffer.concat(this.metaBuf);
      this.metaBuf = [];
      if (this.metaKind === 'L') this.longName = cstr(body, 0, body.length);
      else if (this.metaKind === 'K') this.longLink = cstr(body, 0, body.length);
      else {
        const records = parsePax(body, this);
        const into = this.metaKind === 'g' ? this.globalPax : this.localPax;
        for (const [k, v] of records) into.set(k, v);
      }
    } else {
      this.sink.entryEnd();
    }
    this.state = this.padding > 0 ? 'pad' : 'header';
  }

  private applyPax(entry: TarEntry, pax: Map<string, string>): void {
    for (const [key, value] of pax) {
      switch (key) {
        case 'path': entry.name = value; break;
        case 'linkpath': entry.linkname = value; break;
        case 'size': entry.size = paxNumber(value, key, this); break;
        case 'uid': entry.uid = paxNumber(value, key, this); break;
        case 'gid': entry.gid = paxNumber(value, key, this); break;
        case 'uname': entry.uname = value; break;
        case 'gname': entry.gname = value; break;
        case 'SCHILY.devmajor': entry.devmajor = paxNumber(value, key, this); break;
        case 'SCHILY.devminor': entry.devminor = paxNumber(value, key, this); break;
        case 'mtime': {
          const t = Number(value);
          if (!Number.isFinite(t) || Math.abs(t) > 2 ** 53) throw this.fail(`PAX mtime '${value}' is not a number`);
          entry.mtime = t;
          break;
        }
        default:
          if (key.startsWith('SCHILY.xattr.')) {
            entry.xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(value, 'latin1'));
          } else if (key.startsWith('LIBARCHIVE.xattr.')) {
            const name = decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length));
            entry.xattrs.set(name, Buffer.from(value, 'base64'));
          }
      }
    }
  }
}

function pad(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
  return sum;
}

function cstr(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  const stop = end === -1 || end > off + len ? off + len : end;
  return buf.toString('utf8', off, stop);
}

function printable(c: string): string {
  return /^[\x20-\x7e]$/.test(c) ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** Octal (NUL/space terminated) or GNU base-256; refuses negatives and values beyond 2^53. */
function parseNumber(buf: Buffer, off: number, len: number, field: string, p: TarParser): number {
  const first = buf[off];
  if (first & 0x80) {
    if (first === 0xff) throw failOf(p, `negative ${field} in header`);
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + buf[off + i];
      if (v > Number.MAX_SAFE_INTEGER) throw failOf(p, `${field} in header is absurdly large`);
    }
    return v;
  }
  const text = buf.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').replace(/^[ \0]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw failOf(p, `${field} field '${printable(text[0])}…' is not octal`);
  const v = parseInt(text, 8);
  if (v > Number.MAX_SAFE_INTEGER) throw failOf(p, `${field} in header is absurdly large`);
  return v;
}

function paxNumber(value: string, key: string, p: TarParser): number {
  if (!/^[0-9]{1,16}$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER) {
    throw failOf(p, `PAX ${key} '${value.slice(0, 32)}' is not a valid number`);
  }
  return Number(value);
}

function failOf(p: TarParser, msg: string): CartonError {
  return p.fail(msg);
}

/** "len key=value\n" records; len counts the whole record in bytes. */
function parsePax(body: Buffer, p: TarParser): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  while (off < body.length) {
    if (body[off] === 0) break;
    const space = body.indexOf(0x20, off);
    if (space === -1 || space - off > 10) throw failOf(p, 'malformed PAX record');
    const len = Number(body.toString('latin1', off, space));
    if (!Number.isInteger(len) || len <= space - off || off + len > body.length) {
      throw failOf(p, 'malformed PAX record length');
    }
    const rec = body.subarray(space + 1, off + len - 1); // drop trailing '\n'
    const eq = rec.indexOf(0x3d);
    if (eq === -1) throw failOf(p, 'PAX record without "="');
    const key = rec.toString('utf8', 0, eq);
    // xattr values are binary: keep them byte-exact (latin1 maps bytes 1:1)
    const value = key.startsWith('SCHILY.xattr.') ? rec.toString('latin1', eq + 1) : rec.toString('utf8', eq + 1);
    out.set(key, value);
    off += len;
  }
  return out;
}
