/**
 * Start-up cost guard (docs/performance.md): loading the modules of `run`, `start`,
 * `state`, `kill` and `delete` must not load child_process or net (3 ms of CPU each
 * start); they are loaded where something is actually spawned or a terminal is used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as path from 'path';

/** Built-in modules a fresh Node loads for `require(file)`, from process.moduleLoadList. */
function builtinsLoadedBy(file: string): string[] {
  const script = `require(${JSON.stringify(file)}); require("fs").writeSync(1, JSON.stringify(process.moduleLoadList))`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as string[]).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
}

for (const mod of ['run', 'lifecycle']) {
  test(`runtime/${mod} loads neither child_process nor net`, () => {
    const loaded = builtinsLoadedBy(path.join(__dirname, `${mod}.js`));
    assert.ok(loaded.includes('fs'), 'the check sees built-in modules');
    assert.ok(!loaded.includes('child_process'), 'child_process is loaded');
    assert.ok(!loaded.includes('net'), 'net is loaded');
  });
}
