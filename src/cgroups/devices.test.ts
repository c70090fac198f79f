import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACC_MKNOD, ACC_READ, ACC_WRITE, applyRule, containerDeviceRules, deviceTransition, emulateRules, parseDevicesList, ruleLine, stateAllows } from './devices';
import { compileDeviceProgram, decodeInsns, DEV_BLOCK, DEV_CHAR, OP } from './devices-bpf';
import { runDeviceProgram } from './bpf-interpreter';
import { planResources } from './resources';
import { CartonError } from '../common/errors';
import type { LinuxDeviceCgroup } from '../oci/spec';

const V1 = { v1: new Set(['devices']) };
const V2 = { v1: new Set<string>(), v2: new Set(['memory']) };
const RW = ACC_READ | ACC_WRITE;

function bpfAllows(rules: LinuxDeviceCgroup[], type: 'c' | 'b', major: number, minor: number, access: number): boolean {
  const insns = planResources({ devices: rules }, V2).devices!.insns;
  return runDeviceProgram(insns, { type: type === 'b' ? DEV_BLOCK : DEV_CHAR, access, major, minor }) === 1;
}

test('v1: deny all, then every rule in order as devices.allow/devices.deny lines', () => {
  const p = planResources({ devices: [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
    { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' },
    { allow: false, type: 'b', major: 8, minor: -1 },
  ] }, V1);
  assert.deepEqual(p.writes.map((w) => `${w.file} ${w.value} <${w.field}>`), [
    'devices.deny a <linux.resources.devices>',
    'devices.deny a *:* rwm <linux.resources.devices[0]>',
    'devices.allow c 1:3 rw <linux.resources.devices[1]>',
    'devices.allow c 136:* rwm <linux.resources.devices[2]>',
    'devices.deny b 8:* rwm <linux.resources.devices[3]>',
  ]);
  assert.equal(p.devices, undefined);
});

test('bad rules name the entry', () => {
  const bad = (r: object, re: RegExp): void => assert.throws(() => planResources({ devices: [r as LinuxDeviceCgroup] }, V1),
    (e: unknown) => e instanceof CartonError && e.code === 'EINVAL_CONFIG' && re.test(e.message));
  bad({ allow: true, type: 'x' }, /devices\[0\]\.type/);
  bad({ allow: true, type: 'c', access: 'rwx' }, /devices\[0\]\.access/);
  bad({ allow: 'yes', type: 'c' }, /devices\[0\]\.allow/);
  bad({ allow: true, type: 'c', major: -5 }, /devices\[0\]\.major/);
});

test('v1 kernel semantics: merge on allow, exact-key removal on deny, "a" resets', () => {
  // Access bits of the same node merge: r then w allow rw.
  let s = emulateRules([{ allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'w' }]);
  assert.equal(stateAllows(s, 'c', 1, 3, RW), true);
  // A deny only narrows the exception with the same key: a wildcard allow stays.
  s = emulateRules([{ allow: true, type: 'c', major: 1, minor: null }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }]);
  assert.equal(stateAllows(s, 'c', 1, 3, ACC_WRITE), true);
  s = emulateRules([{ allow: true, type: 'c', major: 1, minor: 3 }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }]);
  assert.equal(stateAllows(s, 'c', 1, 3, ACC_READ), true);
  assert.equal(stateAllows(s, 'c', 1, 3, ACC_WRITE), false);
  assert.equal(stateAllows(s, 'c', 1, 3, RW), false);
  // allow all, then deny some: default allow with deny exceptions (any shared bit denies).
  s = emulateRules([{ allow: true }, { allow: false, type: 'b', major: 8, minor: null, access: 'w' }]);
  assert.equal(s.defaultAllow, true);
  assert.equal(stateAllows(s, 'b', 8, 1, ACC_READ), true);
  assert.equal(stateAllows(s, 'b', 8, 1, RW), false);
  assert.equal(stateAllows(s, 'c', 8, 1, ACC_WRITE), true);
  // Nothing at all: deny.
  assert.equal(stateAllows(emulateRules([]), 'c', 1, 3, ACC_READ), false);
});

test('the eBPF program decides like the emulated v1 list, over many random rule lists', () => {
  let seed = 12345;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const pick = <T>(xs: T[]): T => xs[rnd(xs.length)];
  const accesses = ['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm'];
  for (let round = 0; round < 300; round++) {
    const rules: LinuxDeviceCgroup[] = [];
    for (let i = rnd(7); i >= 0; i--) {
      rules.push({
        allow: rnd(2) === 0, type: pick(['a', 'c', 'b', 'c', 'b']),
        major: pick([null, 1, 2]), minor: pick([null, 3, 5]), access: pick(accesses),
      });
    }
    const state = emulateRules(rules);
    for (const type of ['c', 'b'] as const) {
      for (const major of [1, 2, 7]) {
        for (const minor of [3, 5, 9]) {
          for (let access = 1; access <= 7; access++) {
            assert.equal(bpfAllows(rules, type, major, minor, access), stateAllows(state, type, major, minor, access),
              `rules ${JSON.stringify(rules)} request ${type} ${major}:${minor} access ${access}`);
          }
        }
      }
    }
  }
});

test('a typical container list: null rw allowed, sda denied, mknod anything allowed', () => {
  const rules = containerDeviceRules([{ allow: false, access: 'rwm' }], [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }]);
  assert.equal(bpfAllows(rules, 'c', 1, 3, RW), true);
  assert.equal(bpfAllows(rules, 'c', 10, 229, ACC_READ), true);
  assert.equal(bpfAllows(rules, 'b', 8, 0, ACC_READ), false);
  assert.equal(bpfAllows(rules, 'b', 8, 0, ACC_MKNOD), true);
  assert.equal(bpfAllows(rules, 'c', 136, 4, RW), true);
  assert.equal(bpfAllows([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }], 'c', 1, 3, ACC_WRITE), false);
});

test('program bytes: 8-byte instructions, ctx loads of u32 at 0/4/8, ends in exit, jumps stay inside', () => {
  const bytes = compileDeviceProgram(emulateRules([{ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }]));
  assert.equal(bytes.length % 8, 0);
  const insns = decodeInsns(bytes);
  assert.deepEqual(insns.filter((i) => i.op === OP.LDXW).map((i) => [i.src, i.off]), [[1, 0], [1, 4], [1, 8]]);
  assert.equal(insns[insns.length - 1].op, OP.EXIT);
  insns.forEach((i, pc) => {
    if (i.op === OP.JEQ_K || i.op === OP.JNE_K) assert.ok(pc + 1 + i.off < insns.length && i.off >= 0);
  });
  // The first instruction: r2 = *(u32 *)(r1 + 0) → 0x61, regs 0x12.
  assert.deepEqual([...bytes.subarray(0, 8)], [0x61, 0x12, 0, 0, 0, 0, 0, 0]);
});

test('v1 update by differences: reaches the target without a reset when both deny by default', () => {
  assert.deepEqual(parseDevicesList('c 1:3 rw\nb *:* m\n'), {
    exact: true, state: { defaultAllow: false, exceptions: [{ type: 'c', major: 1, minor: 3, access: RW }, { type: 'b', major: -1, minor: -1, access: ACC_MKNOD }] },
  });
  assert.equal(parseDevicesList('a *:* rwm\n').exact, false);
  const current = parseDevicesList('c 1:3 rw\nc 1:5 rwm\n');
  const steps = deviceTransition(current, emulateRules([{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true, type: 'c', major: 1, minor: 9 }]));
  assert.deepEqual(steps.map((r) => `${r.allow ? 'allow' : 'deny'} ${ruleLine(r)}`), ['deny c 1:3 w', 'deny c 1:5 rwm', 'allow c 1:9 rwm']);
  let seed = 7;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const randomRules = (): LinuxDeviceCgroup[] => Array.from({ length: 1 + rnd(5) }, () => ({
    allow: rnd(3) !== 0, type: ['a', 'c', 'b'][rnd(3)], major: [null, 1][rnd(2)], minor: [null, 3][rnd(2)], access: ['r', 'w', 'rw', 'rwm'][rnd(4)],
  }));
  for (let round = 0; round < 200; round++) {
    const from = emulateRules(randomRules());
    const to = emulateRules(randomRules());
    const fromList = from.defaultAllow ? 'a *:* rwm' : from.exceptions.map((e) => ruleLine({ allow: true, ...e })).join('\n');
    let state = from;
    for (const r of deviceTransition(parseDevicesList(fromList), to)) state = applyRule(state, r);
    for (const type of ['c', 'b'] as const) {
      for (const [major, minor] of [[1, 3], [1, 4], [2, 3]]) {
        for (let access = 1; access <= 7; access++) {
          assert.equal(stateAllows(state, type, major, minor, access), stateAllows(to, type, major, minor, access));
        }
      }
    }
  }
});
