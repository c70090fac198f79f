/**
 * Side-by-side measurement helpers: run commands interleaved (A, B, A, B, …) so
 * that machine noise hits both sides alike, and summarise with medians and
 * spreads. CPU time and peak RSS come from GNU time (getrusage of the children).
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

/** One measured run of argv under /usr/bin/time; throws if the command fails. */
export function measureOnce(s: Subject): Sample {
  s.before?.();
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '@@time %U %S %M', ...s.argv], {
    env: s.env ?? process.env,
    cwd: s.cwd,
    encoding: 'utf8',
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const line = (r.stderr || '').split('\n').find((l) => l.startsWith('@@time '));
  if (r.status !== 0 || !line) {
    throw new Error(`${s.name}: ${s.argv.join(' ')} failed (status ${r.status}): ${r.stderr}${r.stdout}`);
  }
  const [, user, sys, rss] = line.split(' ');
  return { wallMs, cpuMs: (Number(user) + Number(sys)) * 1000, maxRssKb: Number(rss) };
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

export interface Summary {
  name: string;
  runs: number;
  wall: { median: number; p10: number; p90: number };
  cpu: { median: number };
  rss: { median: number };
}

export function summarise(name: string, samples: Sample[]): Summary {
  const w = samples.map((s) => s.wallMs);
  return {
    name,
    runs: samples.length,
    wall: { median: median(w), p10: percentile(w, 10), p90: percentile(w, 90) },
    cpu: { median: median(samples.map((s) => s.cpuMs)) },
    rss: { median: median(samples.map((s) => s.maxRssKb)) },
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

/** A table with ratios of every subject against the first one (the reference peer). */
export function formatComparison(title: string, rows: Summary[]): string {
  const ref = rows[0];
  const lines = [
    `## ${title}`,
    '| subject | runs | wall median ms (p10–p90) | cpu median ms | peak RSS median KiB | wall ratio | cpu ratio | RSS ratio |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${r.runs} | ${r.wall.median.toFixed(1)} (${r.wall.p10.toFixed(1)}–${r.wall.p90.toFixed(1)}) | ` +
        `${r.cpu.median.toFixed(1)} | ${r.rss.median.toFixed(0)} | ${(r.wall.median / ref.wall.median).toFixed(2)}× | ` +
        `${ref.cpu.median > 0 ? (r.cpu.median / ref.cpu.median).toFixed(2) + '×' : 'n/a'} | ${(r.rss.median / ref.rss.median).toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}
