/**
 * Payloads of the prestart socket (docs/prestart.md; frames: native/common/frame.c).
 * Pure: no I/O, unit-tested.
 */

export interface CallerRequest {
  /** The bundle the client belongs to: "dev:ino:size:mtime" (see bundleIdentity). */
  identity: string;
  args: string[];
  env: Record<string, string>;
}

/** 'Q': "identity\0argc\0arg…\0env…\0". Throws on a malformed request. */
export function decodeRequest(payload: Buffer): CallerRequest {
  const fields = payload.toString('utf8').split('\0');
  if (fields.pop() !== '') throw new Error('request not NUL-terminated');
  const argc = Number(fields[1]);
  if (fields.length < 2 || !Number.isInteger(argc) || argc < 0 || argc > fields.length - 2) throw new Error('malformed request');
  const env: Record<string, string> = {};
  for (const entry of fields.slice(2 + argc)) {
    const eq = entry.indexOf('=');
    // Entries without "=" cannot be set through process.env; getenv(3) would not find them either.
    if (eq > 0 && !(entry.slice(0, eq) in env)) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { identity: fields[0], args: fields.slice(2, 2 + argc), env };
}

/** For tests and tools: the payload the client builds. */
export function encodeRequest(r: { identity: string; args: string[]; env: string[] }): Buffer {
  return Buffer.from([r.identity, String(r.args.length), ...r.args, ...r.env].map((f) => `${f}\0`).join(''), 'utf8');
}

/**
 * 'S': start carton-init. `slots[i]` is -1 for the client's own fd i, or the index of the
 * frame's fd that goes to fd i; the frame's last fd becomes fd slots.length (the init's socket).
 */
export function encodeSpawn(file: string, envEntry: string, slots: number[]): Buffer {
  for (const s of [file, envEntry]) if (s.includes('\0')) throw new Error('NUL byte in a spawn field');
  return Buffer.from([file, envEntry, String(slots.length), ...slots.map(String)].map((f) => `${f}\0`).join(''), 'utf8');
}

/**
 * The fds a spawn frame carries for the addon-style fd list (fds[i] === i: the client's own fd
 * i, anything else an fd of this process), each sent once; the init's socket end goes last.
 */
export function spawnSlots(fds: number[], socketEnd: number): { slots: number[]; attached: number[] } {
  const attached: number[] = [];
  const slots = fds.map((fd, i) => {
    if (fd === i) return -1;
    const at = attached.indexOf(fd);
    return at >= 0 ? at : attached.push(fd) - 1;
  });
  attached.push(socketEnd);
  return { slots, attached };
}

// Both ends run on one host: int32 values travel in its byte order (the C side copies them).
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function int32s(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => (LITTLE ? b.writeInt32LE(v, 4 * i) : b.writeInt32BE(v, 4 * i)));
  return b;
}

export function readInt32s(payload: Buffer, count: number): number[] {
  if (payload.length !== 4 * count) throw new Error(`expected ${count} int32 values, got ${payload.length} bytes`);
  return Array.from({ length: count }, (_, i) => (LITTLE ? payload.readInt32LE(4 * i) : payload.readInt32BE(4 * i)));
}

/** The client's identity string for a bundle's stat (native/client/main.c writes the same). */
export function bundleIdentity(st: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }): string {
  const sec = st.mtimeNs / 1_000_000_000n;
  const nsec = (st.mtimeNs % 1_000_000_000n).toString().padStart(9, '0');
  return `${st.dev}:${st.ino}:${st.size}:${sec}.${nsec}`;
}

/**
 * A worker's socket: <dir>/<program>.t<pid> while it sets up, .w<pid> once it waits (a client
 * claims it by renaming it; native/client/main.c reads the same names).
 */
export function workerSocketPath(dir: string, program: string, pid: number, state: 't' | 'w'): string {
  return `${dir}/${program}.${state}${pid}`;
}

