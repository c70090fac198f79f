/**
 * Error and warning output. With --log, lines go to that file as well, in runc's
 * formats: JSON lines {"level","msg","time"} (what conmon and the containerd shim
 * read back to show the user) or logfmt text. The user always sees errors on stderr.
 */
import { stderr } from './out';
import * as fs from 'fs';
import type { Globals } from './globals';

let logFd: number | undefined;

export function setupLog(g: Globals): void {
  if (!g.log) return;
  try {
    logFd = fs.openSync(g.log, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644);
  } catch (err) {
    stderr(`carton-runtime: --log (${g.log}): ${(err as Error).message}\n`);
  }
}

function writeLog(g: Globals, level: string, msg: string): void {
  if (logFd === undefined) return;
  const time = new Date().toISOString();
  const line =
    g.logFormat === 'json'
      ? JSON.stringify({ level, msg, time })
      : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    fs.writeSync(logFd, `${line}\n`);
  } catch {
    /* the log file is best effort */
  }
}

export function logError(g: Globals, msg: string): void {
  writeLog(g, 'error', msg);
  stderr(`carton-runtime: ${msg}\n`);
}

export function logWarn(g: Globals, msg: string): void {
  writeLog(g, 'warning', msg);
  stderr(`carton-runtime: warning: ${msg}\n`);
}

/** Accepted-but-ignored settings and the like: always in --log (level "warning"), on stderr only with --debug. */
export function logNotice(g: Globals, msg: string): void {
  writeLog(g, 'warning', msg);
  if (g.debug) stderr(`carton-runtime: warning: ${msg}\n`);
}

export function logDebug(g: Globals, msg: string): void {
  if (!g.debug) return;
  writeLog(g, 'debug', msg);
  if (logFd === undefined) stderr(`carton-runtime: debug: ${msg}\n`);
}
