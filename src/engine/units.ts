/**
 * Sizes, CPU counts and durations written and read the way Docker's command line does,
 * because scripts pass `-m 64m` and parse `Exited (0) 3 seconds ago`.
 */
import { CartonError } from '../common/errors';

const BINARY: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** "64m", "1g", "512k", "1.5GB", "100" (bytes) → bytes, binary units as Docker's -m takes them. */
export function parseBytes(value: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtpb]?)(?:i?b)?\s*$/i.exec(value);
  if (!m) throw new CartonError('EINVAL_CONFIG', `invalid argument "${value}" for "${flag}" flag: invalid size: '${value}'`, { exitCode: 125 });
  return Math.floor(Number(m[1]) * BINARY[m[2].toLowerCase()]);
}

/** "1.5" → 1.5 CPUs as nano-CPUs, checked against the host's CPU count like Docker does. */
export function parseCpus(value: string, hostCpus: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new CartonError('EINVAL_CONFIG', `invalid argument "${value}" for "--cpus" flag: failed to parse ${value} as a rational number`, { exitCode: 125 });
  }
  const nano = Math.round(n * 1e9);
  if (nano > 0 && (nano < 1e7 || nano > hostCpus * 1e9)) {
    throw new CartonError('EINVAL_CONFIG', `Range of CPUs is from 0.01 to ${hostCpus.toFixed(2)}, as there are only ${hostCpus} CPUs available`, { exitCode: 125 });
  }
  return nano;
}

/** Decimal size with 3 significant digits: "4.26MB", "0B", "812kB" (Docker's images/ps SIZE). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  let text = String(Number(v.toPrecision(3)));
  if (Number(text) >= 1000 && i < units.length - 1) text = String(Number((v / 1000).toPrecision(3))), i++;
  return `${text}${units[i]}`;
}

/** "Less than a second", "3 seconds", "About a minute", "5 hours", "2 weeks" — no "ago". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(ms / 60000);
  const hours = Math.floor(ms / 3600000 + 0.5);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** Docker's CreatedAt text: "2024-05-01 10:00:00 +0000 UTC". */
export function dockerTimestamp(iso: string): string {
  const d = new Date(iso);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`;
}
