/**
 * `npm run bench`: Carton side by side with the peers installed here, in one
 * interleaved run, printing medians, spreads and ratios.
 *
 *   runtime: `carton-runtime run` vs `runc run` (start-to-exit of /bin/true), and
 *            the create + start + delete cycle of both, on the same bundle;
 *            `node -e 0` beside them is the floor any Node program starts from.
 *            Carton both cold (the client starts Node) and prestarted (a worker of
 *            `carton-runtime prestart` that already did, docs/prestart.md).
 *   images:  bench/images.js when it exists (pull vs skopeo/podman, run vs podman run).
 *
 * NODE_EXTRA_CA_CERTS is unset for every subject (it adds ~90 ms to each Node
 * start and nothing to Go programs), so both sides run in the same environment.
 * BENCH_RUNS (default 30) sets the number of measured rounds; BENCH_SKIP_IMAGES=1
 * skips the image benchmarks. See docs/performance.md for how to read the numbers.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { formatComparison, interleave, useRusageHelper, type Subject } from './measure';
import { startBenchPool, workerNote } from './prestart';

const repo = path.resolve(__dirname, '..', '..');
const carton = path.join(repo, 'bin', 'carton-runtime');
const runs = Number(process.env.BENCH_RUNS ?? 30);
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
// "cold": the client runs Node itself, even where a prestart pool serves this host.
const coldEnv: NodeJS.ProcessEnv = { ...env, CARTON_PRESTART: '0' };

function busyboxBundle(dir: string): string {
  const rootfs = execFileSync('bash', [path.join(repo, 'scripts', 'busybox-rootfs.sh'), path.join(dir, 'rootfs')], {
    encoding: 'utf8',
  }).trim();
  // The same config.json for both runtimes: runc's default spec running /bin/true.
  fs.rmSync(path.join(dir, 'config.json'), { force: true });
  execFileSync('runc', ['spec', '--bundle', dir]);
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['/bin/true'];
  spec.root.path = rootfs;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

/** bench/rusage.c built into dist/bench (microsecond CPU times); undefined when there is no C compiler. */
function buildRusageHelper(): string | undefined {
  const src = path.join(repo, 'bench', 'rusage.c');
  const out = path.join(__dirname, 'rusage');
  try {
    if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) {
      const r = spawnSync('cc', ['-O2', '-Wall', '-o', out, src], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr || String(r.error));
    }
    return out;
  } catch (err) {
    console.log(`(no C compiler for bench/rusage.c: ${(err as Error).message.split('\n')[0]}; CPU times from GNU time, in 10 ms steps)`);
    return undefined;
  }
}

function cycle(runtime: string, root: string, bundle: string, id: string): string[] {
  const r = `${runtime} --root ${root}`;
  return ['sh', '-c', `${r} create --bundle ${bundle} ${id} && ${r} start ${id} && ${r} delete --force ${id}`];
}

/** Leftovers of an interrupted earlier bench would make `create` fail with "exists". */
function clearLeftovers(roots: Record<string, string>, ids: string[]): void {
  for (const [runtime, root] of [['runc', roots.runc], [carton, roots.carton]]) {
    for (const id of ids) spawnSync(runtime, ['--root', root, 'delete', '--force', id], { stdio: 'ignore', env });
  }
}

const loadavg = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const work = '/var/tmp/carton-bench';
  fs.mkdirSync(work, { recursive: true });
  const bundle = busyboxBundle(path.join(work, 'bundle'));
  const roots = { runc: path.join(work, 'runc-root'), carton: path.join(work, 'carton-root') };
  const ids = ['bench-runc', 'bench-carton', 'bench-runc-c', 'bench-carton-c'];
  clearLeftovers(roots, ids);
  useRusageHelper(buildRusageHelper());
  console.log(`# Carton benchmarks (${new Date().toISOString()}, ${os.cpus().length} CPUs, load average ${loadavg()})`);
  console.log(`NODE_EXTRA_CA_CERTS: unset for all subjects; ${runs} interleaved rounds after 2 warm-up rounds.`);
  console.log(`runc: ${execFileSync('runc', ['--version'], { encoding: 'utf8' }).split('\n')[0]}; node: ${process.version}\n`);

  // Three workers per program: a create + start + delete cycle takes one for each command.
  const pool = await startBenchPool(repo, 3, env);
  const settled = (s: Subject): Subject => ({ ...s, before: pool.settle });
  try {
    const runSubjects: Subject[] = [
      { name: 'runc run', argv: ['runc', '--root', roots.runc, 'run', '--bundle', bundle, 'bench-runc'], env },
      { name: 'carton-runtime run (cold)', argv: [carton, '--root', roots.carton, 'run', '--bundle', bundle, 'bench-carton'], env: coldEnv },
      { name: 'carton-runtime run (prestarted)', argv: [carton, '--root', roots.carton, 'run', '--bundle', bundle, 'bench-carton'], env: pool.env },
      { name: 'node -e 0 (Node start alone)', argv: [process.execPath, '-e', '0'], env },
    ].map(settled);
    pool.workerCpuPerCommand();
    console.log(formatComparison('run /bin/true, start to exit', interleave(runSubjects, runs)));
    console.log(workerNote(pool.workerCpuPerCommand()));
    console.log(`(load average after: ${loadavg()})\n`);

    const cycleSubjects: Subject[] = [
      { name: 'runc create+start+delete', argv: cycle('runc', roots.runc, bundle, 'bench-runc-c'), env },
      { name: 'carton-runtime create+start+delete (cold)', argv: cycle(carton, roots.carton, bundle, 'bench-carton-c'), env: coldEnv },
      { name: 'carton-runtime create+start+delete (prestarted)', argv: cycle(carton, roots.carton, bundle, 'bench-carton-c'), env: pool.env },
    ].map(settled);
    console.log(formatComparison('create + start + delete', interleave(cycleSubjects, runs)));
    console.log(workerNote(pool.workerCpuPerCommand()));
    console.log(`(load average after: ${loadavg()})\n`);
  } finally {
    await pool.stop();
  }

  const images = path.join(__dirname, 'images.js');
  if (fs.existsSync(images) && process.env.BENCH_SKIP_IMAGES !== '1') {
    await (require(images) as { main(o: { runs: number; env: NodeJS.ProcessEnv }): Promise<void> }).main({ runs: Math.max(5, Math.floor(runs / 5)), env });
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
