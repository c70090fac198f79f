/** Settings accepted but not applied are logged as warnings: in --log always, on stderr only with --debug. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import { makeBundle, minimalSpec, removeBundle } from '../helpers/busybox';
import { forceCleanup, makeRoot, newId, runtimeSync } from './helpers';

const root = makeRoot();
const logFile = `${root}.log`;
const bundles: string[] = [];
const ids: string[] = [];

after(() => {
  for (const id of ids) forceCleanup(root, id);
  for (const b of bundles) removeBundle(b);
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(logFile, { force: true });
});

test('a cgroup field Carton ignores is a warning in --log, and on stderr with --debug', () => {
  const spec = minimalSpec(['true']);
  spec.linux!.resources!.network = { classID: 1 };
  const b = makeBundle(spec);
  bundles.push(b);
  const quiet = newId('notice');
  ids.push(quiet);
  const r = runtimeSync(root, ['--log', logFile, '--log-format', 'json', 'run', '-b', b, quiet]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /resources\.network/);
  const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
  assert.ok(lines.some((l) => l.level === 'warning' && /^linux\.resources\.network: /.test(l.msg)), JSON.stringify(lines));
  const loud = newId('notice-debug');
  ids.push(loud);
  const d = runtimeSync(root, ['--debug', 'run', '-b', b, loud]);
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stderr, /warning: linux\.resources\.network: /);
});
