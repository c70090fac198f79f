/**
 * Start-up cost guard for `carton run` (docs/performance-images.md): the modules of the
 * run path (CLI command, engine, and the runtime modules the engine calls in-process)
 * must not load child_process, net, zlib, http(s), tls or crypto: 1.5-3 ms of CPU each
 * per run. They belong to pulls, volume seeding and hooks, which load them when needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const HEAVY = ['child_process', 'net', 'zlib', 'http', 'https', 'tls', 'crypto'];

/**
 * Built-in modules a fresh Node loads for `require(files)` plus `then`, from
 * process.moduleLoadList. A script file, as bin/carton is: `node -e` preloads crypto
 * and stdin scripts load net.
 */
function builtinsLoadedBy(files: string[], then = ''): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-modules-'));
  try {
    const script = path.join(dir, 'probe.js');
    fs.writeFileSync(script, `${files.map((f) => `require(${JSON.stringify(f)});`).join('')}${then};require("fs").writeSync(1, JSON.stringify(process.moduleLoadList))`);
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as string[]).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('carton run: the command, the engine and the runtime it calls load none of the heavy built-ins', () => {
  const files = [
    path.join(__dirname, '..', 'cli', 'carton', 'run.js'),
    path.join(__dirname, 'run.js'),
    path.join(__dirname, 'runtime-client.js'),
  ];
  // runtimeApi() is what runForeground calls once the bundle is written.
  const loaded = builtinsLoadedBy(files, `require(${JSON.stringify(path.join(__dirname, 'runtime-client.js'))}).runtimeApi()`);
  assert.ok(loaded.includes('fs'), 'the check sees built-in modules');
  for (const m of HEAVY) assert.ok(!loaded.includes(m), `${m} is loaded`);
});

test('a new container id needs no crypto module', () => {
  const loaded = builtinsLoadedBy([], `const id = require(${JSON.stringify(path.join(__dirname, 'names.js'))}).newContainerId(); if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(id)`);
  assert.ok(loaded.includes('fs'), 'the check sees built-in modules');
  assert.ok(!loaded.includes('crypto'), 'crypto is loaded');
});
