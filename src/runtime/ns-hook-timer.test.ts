import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TIMER_FD, killedAtDeadline, timedNsenter } from './ns-hook-timer';

test('the hook gets exactly its own NAME=VALUE entries, after env -i --, then nsenter and its arguments', () => {
  const c = timedNsenter(3, ['A=1', 'broken', '=x', 'B=two=2'], ['-t', '42', '-p', '--', '/hook', 'arg']);
  assert.equal(c.file, '/bin/sh');
  const [dashC, script, name, seconds, envBin, ...rest] = c.args;
  assert.equal(dashC, '-c');
  assert.match(script, /wait \$ns/);
  assert.equal(name, 'carton-hook-timer');
  assert.equal(seconds, '3');
  assert.match(envBin, /(^|\/)env$/);
  assert.deepEqual(rest.slice(0, 4), ['-i', '--', 'A=1', 'B=two=2']);
  assert.match(rest[4], /(^|\/)nsenter$/);
  assert.deepEqual(rest.slice(5), ['-t', '42', '-p', '--', '/hook', 'arg']);
  // The supervising shell's own environment is minimal; the hook's goes through env -i.
  assert.deepEqual(Object.keys(c.env), ['PATH']);
});

test('the deadline report is read from fd 3 only', () => {
  const out = (fd3: string | null): (string | null)[] => [null, 'timeout', 'timeout', fd3];
  assert.equal(TIMER_FD, 3);
  assert.equal(killedAtDeadline(out('timeout\n')), true);
  assert.equal(killedAtDeadline(out('')), false);
  assert.equal(killedAtDeadline(out(null)), false);
  assert.equal(killedAtDeadline(null), false);
});
