/**
 * The process a command works for. Normally this one. In a prestarted worker
 * (docs/prestart.md) it is the client that handed the worker its command: the client's
 * cgroups are the ones the runtime "leaves" the waiting init in, and carton-init must be
 * the client's child (engines and subreapers wait for the container below the command
 * they started), so the worker asks the client to start it.
 */

/** Starts carton-init on the caller's side and reports its end (see src/prestart/caller-link.ts). */
export interface CallerInitSpawner {
  /** As the addon's spawnInit: the child gets fds[i] at fd i and a new socket at fds.length; → [pid, our end]. */
  spawnInit(file: string, fds: number[], envEntry: string, nonblocking: boolean): [number, number];
  /** The raw wait status once the init has ended, else null. */
  waitStatus(pid: number): number | null;
}

let caller: { pid: number; spawner: CallerInitSpawner } | undefined;

export function setCaller(pid: number, spawner: CallerInitSpawner): void {
  caller = { pid, spawner };
}

/** /proc/self, or the caller's /proc/PID when this is a worker serving a client. */
export function callerProcDir(): string {
  return caller ? `/proc/${caller.pid}` : '/proc/self';
}

export function callerInitSpawner(): CallerInitSpawner | undefined {
  return caller?.spawner;
}
