import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkUpdateResources, integerFlag } from './update-resources';

const refused = (raw: unknown, message: RegExp): void => {
  assert.throws(() => checkUpdateResources(raw), (err: Error) => {
    assert.match(err.message, message);
    return true;
  });
};

test('a well-typed update passes through unchanged', () => {
  const r = {
    memory: { limit: 104857600, swap: -1, disableOOMKiller: false },
    cpu: { shares: 512, quota: -1, period: 100000, cpus: '0-1', mems: '0' },
    pids: { limit: 64 },
    blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
    unified: { 'memory.high': 'max' },
  };
  assert.deepEqual(checkUpdateResources(r), r);
});

test('nulls mean "not given" and unknown fields are ignored', () => {
  assert.deepEqual(checkUpdateResources({ memory: { limit: null, swap: 5 }, cpu: null, future: 'x' }), { memory: { swap: 5 }, future: 'x' });
});

test('strings, booleans and fractions where an integer is due: refused naming the field', () => {
  refused({ memory: { limit: 'abc' } }, /^memory\.limit: expected an integer, got "abc"$/);
  refused({ pids: { limit: true } }, /^pids\.limit: expected an integer, got true$/);
  refused({ cpu: { quota: 1.5 } }, /^cpu\.quota: expected an integer, got 1\.5$/);
  refused({ cpu: { shares: '1024' } }, /^cpu\.shares: expected an integer, got "1024"$/);
  refused({ memory: { limit: [1] } }, /^memory\.limit: expected an integer, got an array$/);
  refused({ memory: { limit: {} } }, /^memory\.limit: expected an integer, got an object$/);
});

test('unsigned fields refuse negatives; signed ones take -1 (unlimited)', () => {
  refused({ cpu: { shares: -2 } }, /^cpu\.shares: expected a non-negative integer, got -2$/);
  refused({ blockIO: { weight: -1 } }, /^blockIO\.weight: expected a non-negative integer/);
  assert.deepEqual(checkUpdateResources({ pids: { limit: -1 }, memory: { limit: -1 } }), { pids: { limit: -1 }, memory: { limit: -1 } });
});

test('strings, booleans, objects and lists are checked too, nested fields named with their index', () => {
  refused({ cpu: { cpus: 3 } }, /^cpu\.cpus: expected a string, got 3$/);
  refused({ memory: { disableOOMKiller: 'yes' } }, /^memory\.disableOOMKiller: expected true or false, got "yes"$/);
  refused({ memory: 5 }, /^memory: expected an object, got 5$/);
  refused({ blockIO: { throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 1 }, { major: 8, minor: 'x', rate: 1 }] } }, /^blockIO\.throttleWriteBpsDevice\[1\]\.minor: expected an integer, got "x"$/);
  refused({ blockIO: { weightDevice: {} } }, /^blockIO\.weightDevice: expected an array, got an object$/);
  refused({ unified: { 'pids.max': 5 } }, /^unified\.pids\.max: expected a string, got 5$/);
});

test('the document itself must be an object', () => {
  refused([], /^resources: expected a JSON object \(LinuxResources\), got an array$/);
  refused('x', /^resources: expected a JSON object/);
  refused(null, /^resources: expected a JSON object/);
});

test('integer flags: fractions and values below the minimum are refused naming the flag', () => {
  assert.equal(integerFlag('cpu-quota', -1, { min: -1 }), -1);
  assert.equal(integerFlag('pids-limit', 10, { min: -1 }), 10);
  assert.throws(() => integerFlag('cpu-shares', 1.5, { min: 0 }), /--cpu-shares: expected an integer, got 1\.5/);
  assert.throws(() => integerFlag('pids-limit', -7, { min: -1 }), /--pids-limit: must be at least -1, got -7/);
});
