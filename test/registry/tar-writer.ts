/**
 * A minimal tar writer for building test layers byte by byte: ustar headers plus PAX
 * records for long names and xattrs. Test-only — it exists so fixtures can contain what
 * a host directory cannot easily hold (whiteouts, setuid files owned by root, xattrs).
 */

export interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'char' | 'block';
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  data?: Buffer;
  linkname?: string;
  xattrs?: Record<string, Buffer | string>;
  devmajor?: number;
  devminor?: number;
}

const TYPEFLAG: Record<TarEntry['type'], string> = {
  file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6',
};

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(fields: {
  name: string; mode: number; uid: number; gid: number; size: number; mtime: number;
  typeflag: string; linkname: string; devmajor: number; devminor: number;
}): Buffer {
  const h = Buffer.alloc(512);
  h.write(fields.name, 0, 100, 'utf8');
  h.write(octal(fields.mode, 8), 100, 'ascii');
  h.write(octal(fields.uid, 8), 108, 'ascii');
  h.write(octal(fields.gid, 8), 116, 'ascii');
  h.write(octal(fields.size, 12), 124, 'ascii');
  h.write(octal(fields.mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(fields.typeflag, 156, 'ascii');
  h.write(fields.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  h.write(octal(fields.devmajor, 8), 329, 'ascii');
  h.write(octal(fields.devminor, 8), 337, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

function pad(data: Buffer): Buffer[] {
  const rem = data.length % 512;
  return rem ? [data, Buffer.alloc(512 - rem)] : [data];
}

function paxRecord(key: string, value: Buffer): Buffer {
  // "<len> key=value\n" where len counts itself
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** Serialise entries into an uncompressed tar. */
export function writeTar(entries: TarEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const data = e.type === 'file' ? e.data ?? Buffer.alloc(0) : Buffer.alloc(0);
    const records: Buffer[] = [];
    if (Buffer.byteLength(e.name) > 99) records.push(paxRecord('path', Buffer.from(e.name)));
    if (e.linkname && Buffer.byteLength(e.linkname) > 99) records.push(paxRecord('linkpath', Buffer.from(e.linkname)));
    for (const [k, v] of Object.entries(e.xattrs ?? {})) {
      records.push(paxRecord(`SCHILY.xattr.${k}`, Buffer.isBuffer(v) ? v : Buffer.from(v)));
    }
    if (records.length) {
      const pax = Buffer.concat(records);
      out.push(header({
        name: 'PaxHeader', mode: 0o644, uid: 0, gid: 0, size: pax.length, mtime: 0,
        typeflag: 'x', linkname: '', devmajor: 0, devminor: 0,
      }));
      out.push(...pad(pax));
    }
    out.push(header({
      name: e.name.slice(0, 99),
      mode: e.mode ?? (e.type === 'dir' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      size: data.length,
      mtime: e.mtime ?? 1_700_000_000,
      typeflag: TYPEFLAG[e.type],
      linkname: (e.linkname ?? '').slice(0, 99),
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
    }));
    if (data.length) out.push(...pad(data));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}
