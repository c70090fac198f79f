/**
 * What `carton run --rm … true` loads of Node's built-in modules, measured in a real run
 * (docs/performance-images.md): child_process, net, zlib, http(s), tls and crypto cost
 * 1.5-3 ms of CPU each at start-up and are needed only to pull, to seed a volume or to run
 * a hook. A preload script records process.moduleLoadList when carton exits.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBusyboxRootfs } from '../helpers/busybox';
import { CartonEnv, CARTON_MAIN, cartonEnv } from './helpers';

let env: CartonEnv;
let dir: string;
let rootfs: string;

before(() => {
  env = cartonEnv();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-startup-'));
  rootfs = makeBusyboxRootfs(path.join(dir, 'rootfs'));
  fs.chmodSync(rootfs, 0o755);
  fs.writeFileSync(
    path.join(dir, 'preload.js'),
    `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(path.join(dir, 'modules.json'))}, JSON.stringify(process.moduleLoadList)));\n`,
  );
  const tar = path.join(dir, 'rootfs.tar');
  const t = spawnSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  assert.equal(t.status, 0, String(t.stderr));
  const imp = env.run(['import', tar, 'carton-test-startup']);
  assert.equal(imp.status, 0, imp.stderr);
});

after(async () => {
  await env.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Built-in modules loaded by one `carton run` (through the same entry point as the other tests). */
function builtinsOfRun(args: string[]): string[] {
  fs.rmSync(path.join(dir, 'modules.json'), { force: true });
  const r = spawnSync(
    process.execPath,
    ['--require', path.join(dir, 'preload.js'), CARTON_MAIN, '--root', env.root, '--runroot', env.runroot, 'run', '--cgroup-parent', env.cgroupParent, ...args],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(fs.readFileSync(path.join(dir, 'modules.json'), 'utf8')) as string[];
  const builtins = list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  assert.ok(builtins.includes('fs'), 'the check sees built-in modules');
  return builtins;
}

const NOT_ON_RUN_PATH = ['child_process', 'net', 'zlib', 'http', 'https', 'tls', 'crypto'];

test('run --rootfs: none of the heavy built-ins is loaded', () => {
  const loaded = builtinsOfRun(['--rm', '--rootfs', rootfs, 'true']);
  for (const m of NOT_ON_RUN_PATH) assert.ok(!loaded.includes(m), `${m} is loaded`);
});

test('run IMAGE: none of the heavy built-ins is loaded', () => {
  const loaded = builtinsOfRun(['--rm', 'carton-test-startup', 'true']);
  for (const m of NOT_ON_RUN_PATH) assert.ok(!loaded.includes(m), `${m} is loaded`);
});
