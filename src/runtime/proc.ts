/**
 * Facts about host processes read from /proc. A pid alone does not identify a
 * process (pids are reused), so the runtime always pairs it with the start time
 * (field 22 of /proc/<pid>/stat, clock ticks since boot).
 */
import * as fs from 'fs';

export interface ProcStat {
  state: string;
  ppid: number;
  /** Field 19: the nice value (of the main thread). */
  nice: number;
  startTime: number;
}

/** Parse /proc/<pid>/stat; undefined when the process is gone. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: fields resume after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3].
  return { state: rest[0], ppid: Number(rest[1]), nice: Number(rest[16]), startTime: Number(rest[19]) };
}

/** Start time of a live process, or undefined when it is gone. */
export function pidStartTime(pid: number): number | undefined {
  return readProcStat(pid)?.startTime;
}

/**
 * Whether `pid` is still the process recorded with `startTime`. A zombie counts as
 * gone: it can no longer run anything, and runc reports it as stopped too.
 */
export function isSameLiveProcess(pid: number, startTime: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  const st = readProcStat(pid);
  if (!st) return false;
  if (st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}

/** Send a signal; false when the process does not exist. */
export function signalProcess(pid: number, signal: number): boolean {
  // kill(0) and kill(-1) would hit our own process group or everything: never.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** Sleep without the event loop (sync code paths such as start-up and kill). */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Wait up to `timeoutMs` for a process to be gone (or a zombie). */
export function waitGone(pid: number, startTime: number | undefined, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isSameLiveProcess(pid, startTime)) return true;
    if (Date.now() >= deadline) return false;
    sleepMs(5);
  }
}
