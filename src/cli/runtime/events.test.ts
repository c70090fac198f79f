import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statsJson } from './events';

test('statsJson writes 64-bit integers digit for digit, like Go', () => {
  const unlimited = 9223372036854771712; // 2^63 - 4096, the v1 memory "unlimited"
  assert.equal(JSON.stringify({ limit: unlimited }), '{"limit":9223372036854772000}');
  assert.equal(statsJson({ limit: unlimited }), '{"limit":9223372036854771712}');
  assert.equal(statsJson({ a: [1, 2.5, -3], b: 'x', c: null, d: Number.MAX_SAFE_INTEGER }), '{"a":[1,2.5,-3],"b":"x","c":null,"d":9007199254740991}');
  assert.equal(statsJson({ n: -9223372036854775808 }), '{"n":-9223372036854775808}');
  // A string that merely contains the marker stays a string.
  assert.equal(JSON.parse(statsJson({ s: 'a\u0000u64:5' })).s, 'a\u0000u64:5');
});
