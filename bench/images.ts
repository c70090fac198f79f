/**
 * The image half of `npm run bench`: Carton against skopeo and Podman on one ~200 MB
 * multi-layer image served by a loopback registry, interleaved so machine noise hits
 * every side alike.
 *
 *   pull: `carton pull` into a fresh store each run, against
 *         `skopeo copy docker://… containers-storage:[overlay@ROOT+RUNROOT]…` (the like-for-like
 *         peer: download, verify, decompress and unpack into a local store),
 *         `skopeo copy docker://… oci:DIR` (download and verify only, no unpacking: a floor), and
 *         `podman pull` with private --root/--runroot.
 *   run:  `carton run --rm IMAGE true` against `podman run --rm --network none IMAGE true`,
 *         each from its own store holding the same image.
 *
 * The image (busybox + 5 layers of 40 MB, half random, half text) is built once and kept in
 * /var/tmp/carton-bench/image-layout; everything else lives in a per-run work directory
 * that is unmounted and removed at the end, failure or not. Called by bench/run.ts as
 * `main({ runs, env })`, or alone: `node dist/bench/images.js` (BENCH_RUNS, default 5;
 * BENCH_IMAGES=pull or run for one half).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatComparison, interleave, useRusageHelper, type Subject, type Summary } from './measure';
import { startBenchPool, workerNote } from './prestart';

const repo = path.resolve(__dirname, '..', '..');
// BENCH_CARTON: another build's bin/carton (to compare two versions of Carton on this bench)
const cartonBin = process.env.BENCH_CARTON ?? path.join(repo, 'bin', 'carton');
const benchDir = '/var/tmp/carton-bench';
const layoutDir = path.join(benchDir, 'image-layout');
const TAG = 'v1';
const LAYERS = 5;
const LAYER_MB = 40;

type Harness = typeof import('../test/registry/harness');
type Builder = typeof import('../test/registry/image-builder');

/** The test registry kit, compiled beside us (dist/test/registry). */
function kit(): { harness: Harness; builder: Builder } {
  const dir = path.join(__dirname, '..', 'test', 'registry');
  return { harness: require(path.join(dir, 'harness.js')), builder: require(path.join(dir, 'image-builder.js')) };
}

const loadavg = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** Build the bench image once; a layout whose index.json names the tag is reused. */
function ensureImage(builder: Builder): void {
  const index = path.join(layoutDir, 'index.json');
  const marker = path.join(layoutDir, `built-${LAYERS}x${LAYER_MB}`);
  if (fs.existsSync(index) && fs.existsSync(marker)) return;
  fs.rmSync(layoutDir, { recursive: true, force: true });
  const tmp = `${layoutDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`(building the bench image in ${layoutDir}: ${LAYERS} layers of ${LAYER_MB} MB, once)`);
  builder.buildBenchImage(new builder.OciLayout(tmp), TAG, { layers: LAYERS, layerMB: LAYER_MB });
  fs.writeFileSync(path.join(tmp, `built-${LAYERS}x${LAYER_MB}`), '');
  fs.renameSync(tmp, layoutDir);
}

/** Compressed bytes of the image's layers, from the layout's manifest. */
function compressedBytes(): number {
  const index = JSON.parse(fs.readFileSync(path.join(layoutDir, 'index.json'), 'utf8'));
  const m = index.manifests[0].digest.replace('sha256:', '');
  const manifest = JSON.parse(fs.readFileSync(path.join(layoutDir, 'blobs', 'sha256', m), 'utf8'));
  return manifest.layers.reduce((n: number, l: { size: number }) => n + l.size, 0);
}

/** Mount points at or under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const point = mp.replace(/\\040/g, ' ');
    if (point === dir || point.startsWith(`${dir}/`)) out.push(point);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Unmount everything under `dir` (Podman's overlay home is a bind mount of itself), then delete it. */
function removeTree(dir: string): void {
  for (let pass = 0; pass < 3; pass++) {
    const mps = mountsUnder(dir);
    if (mps.length === 0) break;
    for (const mp of mps) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Runroots (Podman wants them short). */
function shortRunDir(pid: number): string {
  return `/run/carton-bench-${pid}`;
}

/** Work dirs of earlier interrupted runs whose process is gone. */
function clearLeftovers(): void {
  const candidates = [
    ...fs.readdirSync(benchDir).map((n) => path.join(benchDir, n)),
    ...fs.readdirSync('/run').map((n) => path.join('/run', n)),
  ];
  for (const dir of candidates) {
    const m = /^(?:images-run|carton-bench)-(\d+)$/.exec(path.basename(dir));
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      alive = false;
    }
    if (!alive) removeTree(dir);
  }
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n')[0].trim();
  } catch {
    return `${cmd}: unavailable`;
  }
}

/** Podman's configuration for the bench: private, cgroupfs, runc, limits root can set here. */
function podmanConfig(work: string): NodeJS.ProcessEnv {
  const conf = path.join(work, 'containers.conf');
  fs.writeFileSync(
    conf,
    [
      '[containers]',
      // root here lacks CAP_SYS_RESOURCE: Podman's default (raise nofile to the hard max) fails
      'default_ulimits = ["nofile=20000:20000","nproc=32768:32768"]',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "none"',
      'runtime = "runc"',
      '',
    ].join('\n'),
  );
  const storage = path.join(work, 'storage.conf');
  // An explicit storage.conf so a system-wide one cannot change the driver or options.
  fs.writeFileSync(storage, `[storage]\ndriver = "overlay"\nrunroot = "${shortRunDir(process.pid)}/default"\ngraphroot = "${work}/podman-default-root"\n`);
  return { CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage };
}

export interface ImagesBenchOptions {
  runs: number;
  env: NodeJS.ProcessEnv;
}

/** MB/s (compressed bytes / wall) per subject, with ratios against each reference row. */
function formatThroughput(rows: Summary[], bytes: number, refs: Summary[]): string {
  const mbps = (r: Summary): number => bytes / 1e6 / (r.wall.median / 1000);
  const lines = [
    `### throughput (${(bytes / 1e6).toFixed(1)} MB compressed / wall median)`,
    `| subject | MB/s | ${refs.map((r) => `vs ${r.name}`).join(' | ')} |`,
    `|---|---|${refs.map(() => '---').join('|')}|`,
  ];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${mbps(r).toFixed(1)} | ${refs.map((ref) => `${(mbps(r) / mbps(ref)).toFixed(2)}×`).join(' | ')} |`);
  }
  return lines.join('\n');
}

function run(argv: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (status ${r.status}): ${r.stderr}${r.stdout}`);
}

async function bench(opts: ImagesBenchOptions, work: string): Promise<void> {
  const { harness, builder } = kit();
  const which = process.env.BENCH_IMAGES ?? 'all';
  ensureImage(builder);
  const bytes = compressedBytes();
  const reg = await harness.startRegistry();
  try {
    const ref = `${reg.host}/carton-bench/big:${TAG}`;
    await builder.skopeoPush(layoutDir, TAG, ref);
    const env: NodeJS.ProcessEnv = { ...opts.env, ...podmanConfig(work) };
    delete env.NODE_EXTRA_CA_CERTS;
    const pulls = path.join(work, 'pulls');
    // Podman refuses a runroot longer than 50 characters: runroots live in a short /run dir.
    const runDir = shortRunDir(process.pid);
    const runroot = (root: string): string => path.join(runDir, path.basename(root));
    const podmanFlags = (root: string): string[] => [
      '--root', path.join(root, 'root'), '--runroot', runroot(root), '--tmpdir', path.join(root, 'tmp'),
      '--storage-driver', 'overlay', '--cgroup-manager', 'cgroupfs', '--runtime', 'runc', '--events-backend', 'none',
    ];
    const fresh = (dir: string) => (): void => {
      removeTree(dir);
      removeTree(runroot(dir));
      fs.mkdirSync(dir, { recursive: true });
    };
    console.log(`# Images (${new Date().toISOString()}, load average ${loadavg()})`);
    console.log(`image: ${ref}, ${LAYERS + 1} layers, ${(bytes / 1e6).toFixed(1)} MB compressed; ${opts.runs} interleaved rounds after 1 warm-up round`);
    console.log(`${version('skopeo', ['--version'])}; ${version('podman', ['--version'])}; ${version('runc', ['--version'])}\n`);

    if (which === 'all' || which === 'pull') {
      const d = {
        carton: path.join(pulls, 'carton'),
        cs: path.join(pulls, 'skopeo-cs'),
        oci: path.join(pulls, 'skopeo-oci'),
        podman: path.join(pulls, 'podman'),
      };
      const subjects: Subject[] = [
        {
          name: 'skopeo copy → containers-storage',
          before: fresh(d.cs),
          argv: ['skopeo', 'copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`,
            `containers-storage:[overlay@${d.cs}/root+${runroot(d.cs)}]${ref}`],
          env,
        },
        { name: 'carton pull', before: fresh(d.carton), argv: [cartonBin, '--root', `${d.carton}/root`, '--runroot', `${d.carton}/run`, 'pull', '-q', ref], env },
        {
          name: 'skopeo copy → oci: (no unpack)',
          before: fresh(d.oci),
          argv: ['skopeo', 'copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${d.oci}/layout:${TAG}`],
          env,
        },
        { name: 'podman pull', before: fresh(d.podman), argv: ['podman', ...podmanFlags(d.podman), 'pull', '-q', '--tls-verify=false', ref], env },
      ];
      const rows = interleave(subjects, opts.runs, 1);
      console.log(formatComparison(`pull ${(bytes / 1e6).toFixed(0)} MB from a loopback registry (fresh store each run; ratios against skopeo → containers-storage, the like-for-like peer)`, rows));
      console.log(formatThroughput(rows, bytes, [rows[0], rows[2]]));
      console.log(`(load average after: ${loadavg()})\n`);
      for (const dir of Object.values(d)) removeTree(dir);
    }

    if (which === 'all' || which === 'run') {
      // Each engine's store holds the image once; every run creates and removes a container.
      const stores = { carton: path.join(work, 'carton-store'), podman: path.join(work, 'podman-store') };
      const cartonArgs = [cartonBin, '--root', `${stores.carton}/root`, '--runroot', `${stores.carton}/run`];
      run([...cartonArgs, 'pull', '-q', ref], env);
      run(['podman', ...podmanFlags(stores.podman), 'pull', '-q', '--tls-verify=false', ref], env);
      const pool = await startBenchPool(repo, 2, env);
      try {
        const subjects: Subject[] = [
          { name: 'podman run --rm --network none', argv: ['podman', ...podmanFlags(stores.podman), 'run', '--rm', '--network', 'none', ref, 'true'], env },
          { name: 'carton run --rm (cold)', argv: [...cartonArgs, 'run', '--rm', ref, 'true'], env: { ...env, CARTON_PRESTART: '0' } },
          { name: 'carton run --rm (prestarted)', argv: [...cartonArgs, 'run', '--rm', ref, 'true'], env: pool.env },
        ].map((s) => ({ ...s, before: pool.settle }));
        pool.workerCpuPerCommand();
        const rows = interleave(subjects, opts.runs * 2, 2);
        console.log(formatComparison(`run --rm IMAGE true (target: carton ≤ 0.3× podman wall)`, rows));
        console.log(workerNote(pool.workerCpuPerCommand()));
        console.log(`(load average after: ${loadavg()}; conmon daemonizes, so its CPU is not in Podman's rows)\n`);
      } finally {
        await pool.stop();
      }
    }
  } finally {
    await reg.stop();
  }
}

/** Entry point for bench/run.ts; resolves when done, cleans up on failure too. */
export async function main(opts: ImagesBenchOptions): Promise<void> {
  fs.mkdirSync(benchDir, { recursive: true });
  clearLeftovers();
  const work = path.join(benchDir, `images-run-${process.pid}`);
  fs.mkdirSync(work, { recursive: true });
  const cleanup = (): void => {
    removeTree(work);
    removeTree(shortRunDir(process.pid));
  };
  process.once('exit', cleanup);
  try {
    await bench(opts, work);
  } catch (err) {
    console.error(`images bench failed: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  } finally {
    process.removeListener('exit', cleanup);
    cleanup();
  }
}

if (require.main === module) {
  const helper = path.join(__dirname, 'rusage');
  useRusageHelper(fs.existsSync(helper) ? helper : undefined);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  void main({ runs: Number(process.env.BENCH_RUNS ?? 5), env });
}
