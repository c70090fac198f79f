/**
 * Tar writer: ustar headers, with a PAX 'x' header in front whenever a value does not fit
 * (long names/links, big ids or sizes) or the entry has xattrs (SCHILY.xattr.*, the form
 * Docker, Podman and GNU tar read). Output is deterministic for the same input, so layers
 * written twice have the same digest.
 */
import type { TarEntryType } from './tar-reader';

export interface TarWriteEntry {
  name: string;
  type: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  /** Body size for files (must match the bytes written after the header). */
  size?: number;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer> | Record<string, Buffer | string>;
}

const BLOCK = 512;
const FLAGS: Record<TarEntryType, string> = {
  file: '0', link: '1', symlink: '2', chardev: '3', blockdev: '4', dir: '5', fifo: '6',
};

/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

/** Zero bytes after a body of `size` bytes up to the next block boundary. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** Header block(s) for one entry: an optional PAX header + body, then the ustar header. */
export function encodeHeader(entry: TarWriteEntry): Buffer {
  const size = entry.type === 'file' ? entry.size ?? 0 : 0;
  const pax: Array<[string, Buffer]> = [];
  let name = entry.type === 'dir' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const split = splitUstarName(name);
    if (split) [prefix, name] = split;
    else {
      pax.push(['path', Buffer.from(name)]);
      name = truncateBytes(name, 100);
    }
  }
  let linkname = entry.linkname ?? '';
  if (Buffer.byteLength(linkname) > 100) {
    pax.push(['linkpath', Buffer.from(linkname)]);
    linkname = truncateBytes(linkname, 100);
  }
  const uid = entry.uid ?? 0;
  const gid = entry.gid ?? 0;
  if (uid > 0o7777777) pax.push(['uid', Buffer.from(String(uid))]);
  if (gid > 0o7777777) pax.push(['gid', Buffer.from(String(gid))]);
  if (size > 0o77777777777) pax.push(['size', Buffer.from(String(size))]);
  const xattrs = entry.xattrs instanceof Map ? [...entry.xattrs] : Object.entries(entry.xattrs ?? {});
  for (const [k, v] of xattrs.sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    pax.push([`SCHILY.xattr.${k}`, Buffer.isBuffer(v) ? v : Buffer.from(v)]);
  }

  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  octal(header, 100, 8, (entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644)) & 0o7777);
  octal(header, 108, 8, Math.min(uid, 0o7777777));
  octal(header, 116, 8, Math.min(gid, 0o7777777));
  octal(header, 124, 12, size > 0o77777777777 ? 0 : size);
  octal(header, 136, 12, Math.max(0, Math.floor(entry.mtime ?? 0)));
  header.write(FLAGS[entry.type], 156, 1, 'latin1');
  header.write(linkname, 157, 100, 'utf8');
  header.write('ustar\u000000', 257, 8, 'latin1');
  header.write(entry.uname ?? '', 265, 32, 'utf8');
  header.write(entry.gname ?? '', 297, 32, 'utf8');
  if (entry.type === 'chardev' || entry.type === 'blockdev') {
    octal(header, 329, 8, entry.devmajor ?? 0);
    octal(header, 337, 8, entry.devminor ?? 0);
  }
  header.write(prefix, 345, 155, 'utf8');
  writeChecksum(header);
  if (pax.length === 0) return header;

  const body = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  const paxHeader = Buffer.alloc(BLOCK);
  paxHeader.write(truncateBytes(`PaxHeaders/${name}`, 100), 0, 100, 'utf8');
  octal(paxHeader, 100, 8, 0o644);
  octal(paxHeader, 108, 8, 0);
  octal(paxHeader, 116, 8, 0);
  octal(paxHeader, 124, 12, body.length);
  octal(paxHeader, 136, 12, Math.max(0, Math.floor(entry.mtime ?? 0)));
  paxHeader.write('x', 156, 1, 'latin1');
  paxHeader.write('ustar\u000000', 257, 8, 'latin1');
  writeChecksum(paxHeader);
  return Buffer.concat([paxHeader, body, padding(body.length), header]);
}

/** A whole archive in memory (tests, small config layers). */
export function packTar(entries: Array<TarWriteEntry & { data?: Buffer | string }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? undefined : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data);
    const size = e.type === 'file' ? e.size ?? data?.length ?? 0 : 0;
    parts.push(encodeHeader({ ...e, size }));
    if (e.type === 'file' && data) {
      parts.push(data, padding(data.length));
    }
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // ' ' '=' '\n'
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

/** ustar's prefix/name split at a '/', if both halves fit (155 / 100 bytes). */
function splitUstarName(name: string): [string, string] | undefined {
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0) return [prefix, rest];
    if (Buffer.byteLength(rest) > 100) return undefined;
  }
  return undefined;
}

function truncateBytes(s: string, max: number): string {
  const b = Buffer.from(s);
  return b.length <= max ? s : b.subarray(0, max).toString('utf8').replace(/\uFFFD+$/, '');
}

function octal(buf: Buffer, off: number, len: number, value: number): void {
  buf.write(value.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function writeChecksum(header: Buffer): void {
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += header[i];
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
}
