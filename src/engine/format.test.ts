import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderFormat } from './format';
import { hostsFile, resolvConfFile } from './etc-files';

const rows = [{ ID: 'abc', Names: 'web', Labels: { a: '1' }, Size: '1MB' }, { ID: 'def', Names: 'db', Labels: {}, Size: '2MB' }];

test('{{json .}}, fields, escapes and table headers', () => {
  assert.equal(renderFormat('{{json .}}', [rows[0]]), '{"ID":"abc","Names":"web","Labels":{"a":"1"},"Size":"1MB"}\n');
  assert.equal(renderFormat('{{.ID}}\\t{{.Names}}', rows), 'abc\tweb\ndef\tdb\n');
  assert.equal(renderFormat('{{.Labels}} {{json .Names}} {{index .Labels "a"}}', [rows[0]]), 'map[a:1] "web" 1\n');
  assert.equal(renderFormat('table {{.ID}}\\t{{.Size}}', rows, { ID: 'CONTAINER ID' }), 'CONTAINER ID   SIZE\nabc            1MB\ndef            2MB\n');
  assert.throws(() => renderFormat('{{.Nope}}', rows), /can't evaluate field Nope/);
  assert.throws(() => renderFormat('{{range .}}', rows), /function "range" not defined/);
});

test('generated /etc files for private and host networking', () => {
  const hosts = hostsFile('none', 'HOST FILE\n');
  assert.match(hosts, /^127\.0\.0\.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n/);
  assert.equal(hostsFile('host', 'HOST FILE\n'), 'HOST FILE\n');
  assert.equal(resolvConfFile('default', 'nameserver 127.0.0.53\nsearch x\n'), 'search x\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(resolvConfFile('default', 'nameserver 10.0.0.1\n'), 'nameserver 10.0.0.1\n');
  assert.equal(resolvConfFile('host', 'nameserver 127.0.0.53\n'), 'nameserver 127.0.0.53\n');
});
