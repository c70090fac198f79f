/**
 * Whether a prestarted worker may act for a caller: only when doing so gives the command
 * exactly what it would have had as the caller's own child. Same user and groups, same
 * namespaces and root, same capabilities, no_new_privs and seccomp mode; anything else is
 * refused and the client runs Node itself (docs/prestart.md). Resource limits are taken on
 * by the worker where it can (worker.ts).
 */
import * as fs from 'fs';

const NAMESPACES = ['mnt', 'net', 'pid', 'user', 'uts', 'ipc', 'cgroup', 'time'];
/** /proc/PID/status lines that must match. */
const STATUS_FIELDS = ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp'];

/** The status fields that differ between two /proc/PID/status texts (pure). */
export function statusDifferences(mine: string, theirs: string): string[] {
  const field = (text: string, name: string): string | undefined => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(text)?.[1].trim();
  return STATUS_FIELDS.filter((f) => field(mine, f) !== field(theirs, f));
}

/**
 * Variables Node (or OpenSSL under it) reads once, when the process starts: a worker started
 * with other values would not run the command as a cold start would (NODE_EXTRA_CA_CERTS
 * decides which registries `carton pull` trusts). Empty counts as unset, as Node reads it.
 * (SSL_CERT_FILE and SSL_CERT_DIR are read when a certificate store is loaded, after the
 * worker has taken on the caller's environment.)
 */
const STARTUP_ENV = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'NODE_ICU_DATA', 'NODE_PRESERVE_SYMLINKS', 'OPENSSL_CONF'];

/** The start-up variables that differ between this worker's start and the caller's environment (pure). */
export function startupEnvDifferences(mine: NodeJS.ProcessEnv, theirs: Record<string, string>): string[] {
  return STARTUP_ENV.filter((k) => (mine[k] || '') !== (theirs[k] || ''));
}

/** The caller's umask from its /proc/PID/status text (pure); undefined when the kernel does not say. */
export function umaskOf(status: string): number | undefined {
  const m = /^Umask:\s*([0-7]+)$/m.exec(status);
  return m ? parseInt(m[1], 8) : undefined;
}

/** What a caller must share with this worker, read once before any caller comes. */
export interface SelfPortrait {
  namespaces: Map<string, string>;
  root: { dev: number; ino: number };
  status: string;
}

export function selfPortrait(): SelfPortrait {
  const namespaces = new Map<string, string>();
  for (const ns of NAMESPACES) {
    try {
      namespaces.set(ns, fs.readlinkSync(`/proc/self/ns/${ns}`));
    } catch {
      /* a namespace type this kernel lacks */
    }
  }
  const root = fs.statSync('/');
  return { namespaces, root: { dev: root.dev, ino: root.ino }, status: fs.readFileSync('/proc/self/status', 'utf8') };
}

/** Why this process must not act for `pid` (undefined when it may), and the caller's /proc status text. */
export function refusalReason(self: SelfPortrait, pid: number, uid: number, gid: number): { why?: string; status: string } {
  if (uid !== process.geteuid?.() || gid !== process.getegid?.()) return { why: `caller runs as ${uid}:${gid}`, status: '' };
  const proc = `/proc/${pid}`;
  try {
    for (const [ns, mine] of self.namespaces) {
      if (fs.readlinkSync(`${proc}/ns/${ns}`) !== mine) return { why: `caller is in another ${ns} namespace`, status: '' };
    }
    const root = fs.statSync(`${proc}/root`);
    if (root.dev !== self.root.dev || root.ino !== self.root.ino) return { why: 'caller has another root directory', status: '' };
    const status = fs.readFileSync(`${proc}/status`, 'utf8');
    const diff = statusDifferences(self.status, status);
    return { why: diff.length > 0 ? `caller differs in ${diff.join(', ')}` : undefined, status };
  } catch (err) {
    return { why: `cannot inspect the caller: ${(err as Error).message}`, status: '' };
  }
}
