/** Settings accepted but not applied are logged as warnings: in --log always, on stderr only with --debug. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import { makeBundle, minimalSpec } from '../helpers/busybox';
import { runtimeSync, runtimeFixture } from './helpers';

const fx = runtimeFixture();
const root = fx.root;
const logFile = `${root}.log`;
after(() => {
  fx.cleanup();
  fs.rmSync(logFile, { force: true });
});

test('a cgroup field Carton ignores is a warning in --log, and on stderr with --debug', () => {
  const spec = minimalSpec(['true']);
  spec.linux!.resources!.network = { classID: 1 };
  const b = makeBundle(spec);
  fx.keep(b);
  const quiet = fx.id('notice');
  const r = runtimeSync(root, ['--log', logFile, '--log-format', 'json', 'run', '-b', b, quiet]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /resources\.network/);
  const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
  assert.ok(lines.some((l) => l.level === 'warning' && /^linux\.resources\.network: /.test(l.msg)), JSON.stringify(lines));
  const loud = fx.id('notice-debug');
  const d = runtimeSync(root, ['--debug', 'run', '-b', b, loud]);
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stderr, /warning: linux\.resources\.network: /);
});
