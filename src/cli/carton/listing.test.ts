import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerRecord } from '../../engine/containers';
import { commandColumn } from '../../engine/containers';
import type { ImageRecord } from '../../storage/store';
import { imageRows } from './images';
import { psRow, statusText } from './ps';

const NOW = Date.parse('2026-06-01T12:00:00Z');

function record(over: Partial<ContainerRecord['State']> = {}): ContainerRecord {
  return {
    Id: 'a'.repeat(64), Name: 'web', Image: 'busybox', Created: '2026-06-01T11:59:00Z', Path: 'sh', Args: ['-c', 'echo hello world; sleep 1'],
    State: { Status: 'exited', Pid: 0, MonitorPid: 0, ExitCode: 3, StartedAt: '2026-06-01T11:59:00Z', FinishedAt: '2026-06-01T11:59:57Z', Error: '', ...over },
    AutoRemove: false, AnonymousVolumes: [], Mounts: [], Hostname: 'aaaaaaaaaaaa', NetworkMode: 'none',
  };
}

test('ps columns read as Docker\'s: status, truncated quoted command, created', () => {
  assert.equal(statusText(record(), NOW), 'Exited (3) 3 seconds ago');
  assert.equal(statusText(record({ Status: 'running' }), NOW), 'Up About a minute');
  assert.equal(statusText(record({ Status: 'created' }), NOW), 'Created');
  assert.equal(commandColumn(record(), false), '"sh -c echo hello wo…"');
  assert.equal(commandColumn(record(), true), '"sh -c echo hello world; sleep 1"');
  const row = psRow(record(), false, NOW);
  assert.equal(row.ID, 'aaaaaaaaaaaa');
  assert.equal(row.RunningFor, 'About a minute ago');
  assert.equal(row.CreatedAt, '2026-06-01 11:59:00 +0000 UTC');
  assert.deepEqual(Object.keys(row), ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
});

test('images: one row per name, familiar names, <none> for untagged, digests by repository', () => {
  const img = (names: string[], repoDigests: string[]): ImageRecord => ({
    id: `sha256:${'b'.repeat(64)}`, repoDigests, names, layers: [], created: '2026-05-01T00:00:00Z', size: 4261000, addedAt: '2026-05-30T00:00:00Z',
  });
  const rows = imageRows([img(['docker.io/library/busybox:latest', 'localhost:5000/x/y:v1'], [`docker.io/library/busybox@sha256:${'c'.repeat(64)}`])], false, NOW);
  assert.deepEqual(rows.map((r) => [r.Repository, r.Tag, r.Digest.slice(0, 9), r.ID, r.Size, r.CreatedSince]), [
    ['busybox', 'latest', 'sha256:cc', 'bbbbbbbbbbbb', '4.26MB', '4 weeks ago'],
    ['localhost:5000/x/y', 'v1', '<none>', 'bbbbbbbbbbbb', '4.26MB', '4 weeks ago'],
  ]);
  const dangling = imageRows([img([], [])], true, NOW)[0];
  assert.deepEqual([dangling.Repository, dangling.Tag, dangling.ID], ['<none>', '<none>', `sha256:${'b'.repeat(64)}`]);
});
