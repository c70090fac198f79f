/** Signal names and numbers as runc's `kill` accepts them: "TERM", "SIGTERM", "15". */
import { constants } from 'os';
import { CartonError } from '../common/errors';

const SIGNALS = constants.signals as Record<string, number>;

export function parseSignal(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    // Real-time signals go up to 64 on Linux.
    if (n >= 0 && n <= 64) return n;
    throw new CartonError('EINVAL_CONFIG', `invalid signal: ${text}`);
  }
  const upper = t.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
  if (rt) return 34 + Number(rt[1] ?? 0);
  const rtmax = /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rtmax) return 64 - Number(rtmax[1] ?? 0);
  const n = SIGNALS[name];
  if (n === undefined) throw new CartonError('EINVAL_CONFIG', `unknown signal "${text}"`);
  return n;
}

export function signalName(n: number): string {
  for (const [name, v] of Object.entries(SIGNALS)) if (v === n) return name;
  return String(n);
}
