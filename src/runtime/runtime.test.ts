/** Pure helpers of the runtime: signals, ids, wait statuses, sizes, timestamps, /proc parsing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseSignal, signalName } from './signals';
import { validateId, nowRfc3339Nano, StateStore, writeFileAtomic } from './store';
import { decodeWaitStatus, exitCodeOf } from './run';
import { parseBytes } from './control';
import { isSameLiveProcess, readProcStat, signalProcess } from './proc';
import { stateJson } from './status';

test('signals by name, SIG name and number, as runc takes them', () => {
  assert.equal(parseSignal('TERM'), 15);
  assert.equal(parseSignal('SIGTERM'), 15);
  assert.equal(parseSignal('sigkill'), 9);
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('RTMIN+2'), 36);
  assert.equal(parseSignal('SIGRTMAX'), 64);
  assert.throws(() => parseSignal('NOPE'), /unknown signal "NOPE"/);
  assert.throws(() => parseSignal('65'), /invalid signal: 65/);
  assert.equal(signalName(15), 'SIGTERM');
});

test('container ids follow runc rules', () => {
  for (const ok of ['abc', 'a_b-c.d+e', 'x'.repeat(64)]) assert.doesNotThrow(() => validateId(ok));
  for (const bad of ['', '.', '..', 'a/b', '../x', 'a b', 'é']) assert.throws(() => validateId(bad), /container id/);
});

test('wait statuses become shell exit codes', () => {
  assert.equal(decodeWaitStatus(0), 0);
  assert.equal(decodeWaitStatus(42 << 8), 42);
  assert.equal(decodeWaitStatus(9), 137);
  assert.equal(decodeWaitStatus(15 | 0x80), 143); // core dumped bit
  assert.equal(exitCodeOf({ code: 3 }), 3);
  assert.equal(exitCodeOf({ code: 137, signal: 'SIGKILL' }), 137);
  assert.equal(exitCodeOf(2 << 8), 2);
});

test('sizes for update', () => {
  assert.equal(parseBytes('memory', '100'), 100);
  assert.equal(parseBytes('memory', '64m'), 64 * 1024 * 1024);
  assert.equal(parseBytes('memory', '1G'), 1024 ** 3);
  assert.equal(parseBytes('memory', '2kb'), 2048);
  assert.equal(parseBytes('memory-swap', '-1'), -1);
  assert.throws(() => parseBytes('memory', 'lots'), /--memory \(lots\): invalid size/);
});

test('created timestamps are RFC 3339 with nanoseconds', () => {
  assert.match(nowRfc3339Nano(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
});

test('/proc/<pid>/stat: start time, and a pid with another start time is not "the same process"', () => {
  const st = readProcStat(process.pid)!;
  assert.ok(st.startTime > 0);
  assert.equal(st.ppid, process.ppid);
  assert.equal(isSameLiveProcess(process.pid, st.startTime), true);
  assert.equal(isSameLiveProcess(process.pid, st.startTime + 1), false);
  assert.equal(isSameLiveProcess(0, undefined), false);
  assert.equal(readProcStat(2 ** 22 + 1), undefined);
});

test('signalProcess never signals pid 0 or negative pids', () => {
  assert.equal(signalProcess(0, 0), false);
  assert.equal(signalProcess(-1, 0), false);
  assert.equal(signalProcess(process.pid, 0), true);
});

test('state store: atomic save, load, list, remove, duplicate ids refused', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-store-'));
  try {
    const store = new StateStore(root);
    store.reserve('c1');
    assert.throws(() => store.reserve('c1'), /container with id exists: c1/);
    const rec = {
      ociVersion: '1.2.0', id: 'c1', pid: 0, pidStartTime: 0, bundle: '/b', rootfs: '/b/rootfs', created: nowRfc3339Nano(),
      annotations: { a: 'b' }, owner: '', cgroupPaths: {}, namespaces: [], config: { ociVersion: '1.2.0' },
    };
    store.save(rec);
    assert.deepEqual(store.load('c1'), rec);
    assert.deepEqual(store.list(), ['c1']);
    assert.deepEqual(fs.readdirSync(store.dir('c1')), ['state.json']);
    assert.throws(() => store.load('c2'), /container does not exist: c2/);
    const st = stateJson(rec, 'stopped');
    assert.equal(st.pid, 0);
    assert.equal(st.status, 'stopped');
    store.remove('c1');
    assert.deepEqual(store.list(), []);
    const f = path.join(root, 'x');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, 'two', 0o644, false);
    assert.equal(fs.readFileSync(f, 'utf8'), 'two');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
