/**
 * The one leak checker for bad-input and spec-edge tests: after a command failed (or a
 * container was deleted), nothing of it may remain on the host. Everything is found by
 * names unique to the test (its container id, its cgroupsPath containing "carton-test",
 * its bundle path), so other engineers' containers on this machine never count.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface Traces {
  /** The --root the runtime was given. */
  root: string;
  id: string;
  bundle: string;
  /** The last component of linux.cgroupsPath (defaults to the id). */
  cgroup?: string;
}

/** Everything still on the host that belongs to this container; [] when clean. */
export function leaksOf(t: Traces): string[] {
  const cgroup = t.cgroup ?? t.id;
  if (!cgroup.includes('carton-test')) throw new Error(`leaksOf: cgroup name ${cgroup} must contain "carton-test" to be findable`);
  return [...stateLeaks(t), ...cgroupLeaks(cgroup), ...mountLeaks(t.bundle, t.id), ...processLeaks(t.id, t.bundle, cgroup)];
}

function stateLeaks(t: Traces): string[] {
  const dir = path.join(t.root, t.id);
  return fs.existsSync(dir) ? [`state dir ${dir}`] : [];
}

/** /sys/fs/cgroup/<hierarchy>/... directories named after the test's cgroup, a few levels deep. */
export function cgroupLeaks(name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (e.name.includes(name)) found.push(`cgroup ${p}`);
      else if (depth < 5) walk(p, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

/** Mount points under the bundle (rootfs, its proc/dev/…) or naming the id. */
export function mountLeaks(bundle: string, id: string): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && (mp.startsWith(bundle) || mp.includes(id))) out.push(`mount ${mp}`);
  }
  return out;
}

/** Processes whose command line names the id or bundle, whose root is the rootfs, or that sit in the cgroup. */
export function processLeaks(id: string, bundle: string, cgroup: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmdline.includes(id) || cmdline.includes(bundle)) out.push(`process ${pid} (${cmdline})`);
      else if (fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(cgroup)) out.push(`process ${pid} in cgroup ${cgroup} (${cmdline})`);
      else if (fs.readlinkSync(`/proc/${pid}/root`).startsWith(bundle)) out.push(`process ${pid} rooted in the bundle (${cmdline})`);
    } catch {
      /* exited meanwhile, or a kernel thread */
    }
  }
  return out;
}

/** Leaks, polled briefly: a killed process or a lazily unmounted tree can take a moment to go. */
export function leaksAfterSettling(t: Traces, timeoutMs = 3000): string[] {
  const deadline = Date.now() + timeoutMs;
  let found = leaksOf(t);
  while (found.length > 0 && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    found = leaksOf(t);
  }
  return found;
}
