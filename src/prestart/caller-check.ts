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

/** The caller's umask from its /proc/PID/status text (pure); undefined when the kernel does not say. */
export function umaskOf(status: string): number | undefined {
  const m = /^Umask:\s*([0-7]+)$/m.exec(status);
  return m ? parseInt(m[1], 8) : undefined;
}

/** Why this process must not act for `pid`, or undefined when it may. */
export function refusalReason(pid: number, uid: number, gid: number): string | undefined {
  if (uid !== process.geteuid?.() || gid !== process.getegid?.()) return `caller runs as ${uid}:${gid}`;
  const proc = `/proc/${pid}`;
  try {
    for (const ns of NAMESPACES) {
      let self: string | undefined;
      try {
        self = fs.readlinkSync(`/proc/self/ns/${ns}`);
      } catch {
        continue; // a namespace type this kernel lacks
      }
      if (fs.readlinkSync(`${proc}/ns/${ns}`) !== self) return `caller is in another ${ns} namespace`;
    }
    const root = fs.statSync(`${proc}/root`);
    const mine = fs.statSync('/');
    if (root.dev !== mine.dev || root.ino !== mine.ino) return 'caller has another root directory';
    const diff = statusDifferences(fs.readFileSync('/proc/self/status', 'utf8'), fs.readFileSync(`${proc}/status`, 'utf8'));
    if (diff.length > 0) return `caller differs in ${diff.join(', ')}`;
  } catch (err) {
    return `cannot inspect the caller: ${(err as Error).message}`;
  }
  return undefined;
}
