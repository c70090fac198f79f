import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../args';
import { RUN_FLAGS, runOptionsFrom } from './run';

const parse = (argv: string[]) => parseArgs(argv, RUN_FLAGS, { style: 'docker', stopAtPositional: true });

test('docker run flags: grouped shorts, repeated lists, flags after the image belong to the command', () => {
  const p = parse(['-it', '--rm', '-e', 'A=1', '--env=B', '-v', '/h:/c:ro', '--entrypoint', '', '-m', '1g', '--cpus=1', '-uuser:grp', 'img', '-e', 'x']);
  assert.deepEqual(p.positionals, ['img', '-e', 'x']);
  const o = runOptionsFrom(p, { B: 'from-host' });
  assert.equal(o.tty && o.interactive && o.rm, true);
  assert.deepEqual(o.env, ['A=1', 'B=from-host']);
  assert.equal(o.entrypoint, '');
  assert.equal(o.memory, 1024 ** 3);
  assert.equal(o.nanoCpus, 1e9);
  assert.equal(o.user, 'user:grp');
  assert.deepEqual(o.mounts.map((m) => [m.type, m.source, m.target, m.readonly]), [['bind', '/h', '/c', true]]);
  assert.equal(runOptionsFrom(parse(['img'])).entrypoint, undefined);
  assert.equal(runOptionsFrom(parse(['--net', 'host', 'img'])).network, 'host');
});

test('bad values are Docker\'s exit-125 errors naming the flag', () => {
  const bad = (argv: string[], re: RegExp): void =>
    assert.throws(() => runOptionsFrom(parse(argv)), (e: Error & { exitCode?: number }) => re.test(e.message) && e.exitCode === 125);
  bad(['-m', 'lots', 'img'], /invalid argument "lots" for "-m, --memory" flag/);
  bad(['--network', 'bridge2', 'img'], /network bridge2 not found/);
  bad(['--security-opt', 'apparmor', 'img'], /invalid --security-opt/);
  bad(['--tmpfs', 'rel', 'img'], /mount path must be absolute/);
  assert.throws(() => parse(['--bogus', 'img']), (e: Error & { exitCode?: number }) => e.message === 'unknown flag: --bogus' && e.exitCode === 125);
});
