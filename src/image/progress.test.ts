import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressRenderer, humanSize, progressBar } from './progress';

function sink(isTTY: boolean): { out: { write(s: string): void; isTTY: boolean }; text: () => string } {
  let buf = '';
  return { out: { write: (s: string) => void (buf += s), isTTY }, text: () => buf };
}

test('human sizes as Docker prints them', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1200), '1.2kB');
  assert.equal(humanSize(3_400_000), '3.4MB');
  assert.equal(humanSize(2_109_000), '2.109MB');
  assert.equal(humanSize(528_400), '528.4kB');
});

test('progress bar', () => {
  assert.equal(progressBar(0, 100), `[>${' '.repeat(49)}]  0B/100B`);
  assert.equal(progressBar(50, 100), `[${'='.repeat(25)}>${' '.repeat(24)}]  50B/100B`);
  assert.equal(progressBar(100, 100), `[${'='.repeat(50)}]  100B/100B`);
});

test('plain output: one line per status, no byte counts', () => {
  const s = sink(false);
  const r = new ProgressRenderer(s.out);
  r.handle({ type: 'pulling', tag: 'latest', repository: 'library/busybox', reference: 'docker.io/library/busybox:latest' });
  r.handle({ type: 'layer', id: 'a3ed95caeb02', status: 'Pulling fs layer' });
  r.handle({ type: 'layer', id: 'a3ed95caeb02', status: 'Downloading', current: 1, total: 10 });
  r.handle({ type: 'layer', id: 'a3ed95caeb02', status: 'Downloading', current: 5, total: 10 });
  r.handle({ type: 'layer', id: 'a3ed95caeb02', status: 'Pull complete' });
  r.handle({ type: 'digest', digest: 'sha256:abc' });
  r.handle({ type: 'status', message: 'Downloaded newer image for busybox:latest' });
  assert.equal(
    s.text(),
    [
      'latest: Pulling from library/busybox',
      'a3ed95caeb02: Pulling fs layer',
      'a3ed95caeb02: Downloading',
      'a3ed95caeb02: Pull complete',
      'Digest: sha256:abc',
      'Status: Downloaded newer image for busybox:latest',
      'docker.io/library/busybox:latest',
      '',
    ].join('\n'),
  );
});

test('terminal output redraws a layer line in place', () => {
  const s = sink(true);
  const r = new ProgressRenderer(s.out);
  r.handle({ type: 'layer', id: 'aaaaaaaaaaaa', status: 'Pulling fs layer' });
  r.handle({ type: 'layer', id: 'bbbbbbbbbbbb', status: 'Pulling fs layer' });
  r.handle({ type: 'layer', id: 'aaaaaaaaaaaa', status: 'Downloading', current: 1_200_000, total: 3_400_000 });
  const out = s.text();
  assert.ok(out.startsWith('aaaaaaaaaaaa: Pulling fs layer\nbbbbbbbbbbbb: Pulling fs layer\n'));
  assert.ok(out.includes('\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Downloading ['));
  assert.ok(out.endsWith('1.2MB/3.4MB\r\x1b[2B'));
});

test('push lines', () => {
  const s = sink(false);
  const r = new ProgressRenderer(s.out);
  r.handle({ type: 'pushing', repository: 'localhost:5000/app' });
  r.handle({ type: 'layer', id: 'aaaaaaaaaaaa', status: 'Mounted', from: 'library/busybox' });
  r.handle({ type: 'pushed', tag: 'v1', digest: 'sha256:abc', size: 528 });
  assert.equal(
    s.text(),
    'The push refers to repository [localhost:5000/app]\naaaaaaaaaaaa: Mounted from library/busybox\nv1: digest: sha256:abc size: 528\n',
  );
});

test('terminal lines are cut to the width so redraws stay aligned', () => {
  let buf = '';
  const r = new ProgressRenderer({ write: (s: string) => void (buf += s), isTTY: true, columns: 40 });
  r.handle({ type: 'layer', id: 'aaaaaaaaaaaa', status: 'Downloading', current: 1, total: 10 });
  assert.equal(buf, `aaaaaaaaaaaa: Downloading [=====>${' '.repeat(6)}\n`);
});
