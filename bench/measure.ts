/**
 * Side-by-side measurement helpers: run commands interleaved (A, B, A, B, …) so
 * that machine noise hits both sides alike, and summarise with medians and
 * spreads (p10–p90). CPU time and peak RSS come from wait4(2) of the command
 * (the command and every descendant it waited for): through bench/rusage.c when
 * it could be built (microseconds), else GNU time (10 ms steps, as coarse as a
 * whole `runc run`).
 */
import { spawnSync } from 'child_process';

export interface Sample {
  wallMs: number;
  cpuMs: number;
  maxRssKb: number;
}

export interface Subject {
  name: string;
  /** Runs once before each measured run (not timed), e.g. to clean state. */
  before?: () => void;
  argv: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** How samples are taken: the path of the built rusage helper, or undefined for GNU time. */
let rusageHelper: string | undefined;

export function useRusageHelper(path: string | undefined): void {
  rusageHelper = path;
}

/** One measured run of argv; throws if the command fails. */
export function measureOnce(s: Subject): Sample {
  s.before?.();
  const start = process.hrtime.bigint();
  const [cmd, args] = rusageHelper ? [rusageHelper, s.argv] : ['/usr/bin/time', ['-f', '@@time %U %S %M', ...s.argv]];
  const r = spawnSync(cmd, args, { env: s.env ?? process.env, cwd: s.cwd, encoding: 'utf8' });
  const outerWallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const lines = (r.stderr || '').split('\n');
  const fail = (): Error => new Error(`${s.name}: ${s.argv.join(' ')} failed (status ${r.status}): ${r.stderr}${r.stdout}`);
  if (rusageHelper) {
    const line = lines.find((l) => l.startsWith('@@rusage '));
    if (r.status !== 0 || !line) throw fail();
    const [, wallUs, userUs, sysUs, rss] = line.split(' ').map(Number);
    return { wallMs: wallUs / 1000, cpuMs: (userUs + sysUs) / 1000, maxRssKb: rss };
  }
  const line = lines.find((l) => l.startsWith('@@time '));
  if (r.status !== 0 || !line) throw fail();
  const [, user, sys, rss] = line.split(' ');
  return { wallMs: outerWallMs, cpuMs: (Number(user) + Number(sys)) * 1000, maxRssKb: Number(rss) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export interface Spread {
  median: number;
  p10: number;
  p90: number;
}

export interface Summary {
  name: string;
  runs: number;
  wall: Spread;
  cpu: Spread;
  rss: Spread;
}

function spread(xs: number[]): Spread {
  return { median: median(xs), p10: percentile(xs, 10), p90: percentile(xs, 90) };
}

export function summarise(name: string, samples: Sample[]): Summary {
  return {
    name,
    runs: samples.length,
    wall: spread(samples.map((s) => s.wallMs)),
    cpu: spread(samples.map((s) => s.cpuMs)),
    rss: spread(samples.map((s) => s.maxRssKb)),
  };
}

/** Interleave the subjects `runs` times after `warmup` unrecorded rounds. */
export function interleave(subjects: Subject[], runs: number, warmup = 2): Summary[] {
  const samples = subjects.map(() => [] as Sample[]);
  for (let i = 0; i < warmup + runs; i++) {
    subjects.forEach((s, k) => {
      const sample = measureOnce(s);
      if (i >= warmup) samples[k].push(sample);
    });
  }
  return subjects.map((s, k) => summarise(s.name, samples[k]));
}

const fmt = (s: Spread, digits: number): string =>
  `${s.median.toFixed(digits)} (${s.p10.toFixed(digits)}–${s.p90.toFixed(digits)})`;

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
}

/** A table with ratios of every subject's medians against the first one (the reference peer). */
export function formatComparison(title: string, rows: Summary[]): string {
  const ref = rows[0];
  const lines = [
    `## ${title}`,
    '| subject | runs | wall ms median (p10–p90) | CPU ms median (p10–p90) | peak RSS KiB median (p10–p90) | wall ratio | CPU ratio | RSS ratio |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${r.runs} | ${fmt(r.wall, 1)} | ${fmt(r.cpu, 1)} | ${fmt(r.rss, 0)} | ` +
        `${ratio(r.wall.median, ref.wall.median)} | ${ratio(r.cpu.median, ref.cpu.median)} | ${ratio(r.rss.median, ref.rss.median)} |`,
    );
  }
  return lines.join('\n');
}
