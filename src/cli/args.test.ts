import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, type FlagSpec } from './args';

const flags: FlagSpec[] = [
  { name: 'bundle', short: 'b', type: 'string', help: 'bundle dir', default: '.' },
  { name: 'detach', short: 'd', type: 'bool', help: 'detach' },
  { name: 'tty', short: 't', type: 'bool', help: 'tty' },
  { name: 'interactive', short: 'i', type: 'bool', help: 'stdin' },
  { name: 'env', short: 'e', type: 'strings', help: 'env' },
  { name: 'user', short: 'u', type: 'string', help: 'user' },
  { name: 'preserve-fds', type: 'number', help: 'fds', default: 0 },
];

test('long, inline, short, grouped and repeated flags', () => {
  const p = parseArgs(['--bundle=/b', '-dit', '-e', 'A=1', '--env', 'B=2', '-uroot', '--preserve-fds', '2', 'id'], flags);
  assert.equal(p.values.bundle, '/b');
  assert.equal(p.values.detach, true);
  assert.equal(p.values.interactive, true);
  assert.equal(p.values.tty, true);
  assert.deepEqual(p.values.env, ['A=1', 'B=2']);
  assert.equal(p.values.user, 'root');
  assert.equal(p.values['preserve-fds'], 2);
  assert.deepEqual(p.positionals, ['id']);
  assert.ok(p.given.has('bundle') && !p.given.has('nothing'));
});

test('runc single-dash long names and defaults', () => {
  const p = parseArgs(['-bundle', '/x', 'id'], flags);
  assert.equal(p.values.bundle, '/x');
  assert.equal(parseArgs(['id'], flags).values.bundle, '.');
});

test('stops at the first positional when asked, and at --', () => {
  const p = parseArgs(['-d', 'image', '-e', 'x', 'sh'], flags, { stopAtPositional: true });
  assert.deepEqual(p.positionals, ['image', '-e', 'x', 'sh']);
  assert.deepEqual(parseArgs(['--', '-d'], flags).positionals, ['-d']);
});

test('unknown flags and missing values are errors in the peer tools wording', () => {
  assert.throws(() => parseArgs(['--nope'], flags), /flag provided but not defined: --nope/);
  assert.throws(() => parseArgs(['--nope'], flags, { style: 'docker' }), /unknown flag: --nope/);
  assert.throws(() => parseArgs(['--bundle'], flags), /flag needs an argument: --bundle/);
  assert.throws(() => parseArgs(['--preserve-fds', 'x'], flags), /must be a number/);
  assert.equal(parseArgs(['--detach=false'], flags).values.detach, false);
});
