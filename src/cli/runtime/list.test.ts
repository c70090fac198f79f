/** runc's list table layout: columns padded like Go's tabwriter(minwidth 12, padding 3). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { table } from './list';

test('list table pads columns like runc', () => {
  const out = table([
    ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
    ['a-rather-long-container-id', '123', 'running', '/b', '2026-01-01T00:00:00.000000000Z', ''],
  ]);
  const [head, row] = out.split('\n');
  assert.equal(head.indexOf('PID'), 'a-rather-long-container-id'.length + 3);
  assert.equal(row.indexOf('123'), head.indexOf('PID'));
  assert.equal(head.indexOf('STATUS') - head.indexOf('PID'), 12);
  assert.ok(out.endsWith('\n'));
});
