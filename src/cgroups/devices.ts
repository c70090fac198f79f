/**
 * Device access rules (`linux.resources.devices`) for both cgroup versions (pure).
 *
 * The semantics are v1's, everywhere. The list starts from "deny everything" and each
 * rule is applied in order exactly as the v1 kernel applies a write to devices.allow or
 * devices.deny:
 * - a type "a" rule resets: default allow (allow) or default deny (deny), no exceptions;
 * - a rule that goes against the default adds an exception, merging access bits into an
 *   exception with the same type:major:minor;
 * - a rule that goes with the default removes those access bits from the exception with
 *   the same type:major:minor, and only that one (a wildcard exception is not narrowed).
 * A request (type, major, minor, access bits) is then allowed, under default deny, when
 * one exception covers all requested bits; under default allow, unless an exception
 * shares any requested bit.
 *
 * v1 gets the writes themselves. v2 has no device files: the final state is compiled to
 * a BPF_PROG_TYPE_CGROUP_DEVICE program (see devices-bpf.ts), so both versions decide
 * every request the same way.
 */
import { CartonError } from '../common/errors';
import type { LinuxDevice, LinuxDeviceCgroup } from '../oci/spec';
import { compileDeviceProgram } from './devices-bpf';
import { ControllerPlacement, placeController, ResourcePlan } from './writes';

export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;
const ACC_ALL = ACC_MKNOD | ACC_READ | ACC_WRITE;

/** One exception of the emulated list; major/minor -1 is the wildcard "*". */
export interface DeviceException {
  type: 'c' | 'b';
  major: number;
  minor: number;
  access: number;
}

export interface DeviceState {
  defaultAllow: boolean;
  exceptions: DeviceException[];
}

export interface NormalRule {
  allow: boolean;
  type: 'a' | 'c' | 'b';
  major: number;
  minor: number;
  access: number;
}

const FIELD = 'linux.resources.devices';

function parseAccess(access: string | undefined, field: string): number {
  if (access === undefined || access === '') return ACC_ALL;
  let bits = 0;
  for (const ch of access) {
    if (ch === 'r') bits |= ACC_READ;
    else if (ch === 'w') bits |= ACC_WRITE;
    else if (ch === 'm') bits |= ACC_MKNOD;
    else throw new CartonError('EINVAL_CONFIG', `${field}.access: ${JSON.stringify(access)} may only hold r, w and m`);
  }
  return bits;
}

function parseNumber(n: number | null | undefined, field: string): number {
  if (n === undefined || n === null || n === -1) return -1;
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new CartonError('EINVAL_CONFIG', `${field}: invalid device number ${n}`);
  return n;
}

/** Validate and normalize one OCI rule. */
export function normalizeRule(r: LinuxDeviceCgroup, index: number): NormalRule {
  const field = `${FIELD}[${index}]`;
  const type = r.type === undefined || r.type === '' ? 'a' : r.type;
  if (type !== 'a' && type !== 'c' && type !== 'b') {
    throw new CartonError('EINVAL_CONFIG', `${field}.type: ${JSON.stringify(r.type)} is not one of a, c, b`);
  }
  if (typeof r.allow !== 'boolean') throw new CartonError('EINVAL_CONFIG', `${field}.allow: must be true or false`);
  return {
    allow: r.allow,
    type,
    major: parseNumber(r.major, `${field}.major`),
    minor: parseNumber(r.minor, `${field}.minor`),
    access: parseAccess(r.access, field),
  };
}

/** Apply one rule to the state the way the v1 kernel does. */
export function applyRule(state: DeviceState, rule: NormalRule): DeviceState {
  if (rule.type === 'a') return { defaultAllow: rule.allow, exceptions: [] };
  const exceptions = state.exceptions.map((e) => ({ ...e }));
  const same = exceptions.find((e) => e.type === rule.type && e.major === rule.major && e.minor === rule.minor);
  if (rule.allow !== state.defaultAllow) {
    if (same) same.access |= rule.access;
    else exceptions.push({ type: rule.type, major: rule.major, minor: rule.minor, access: rule.access });
    return { defaultAllow: state.defaultAllow, exceptions };
  }
  if (same) same.access &= ~rule.access;
  return { defaultAllow: state.defaultAllow, exceptions: exceptions.filter((e) => e.access !== 0) };
}

/** The state after "deny all" and then every rule in order. */
export function emulateRules(rules: LinuxDeviceCgroup[]): DeviceState {
  let state: DeviceState = { defaultAllow: false, exceptions: [] };
  rules.forEach((r, i) => { state = applyRule(state, normalizeRule(r, i)); });
  return state;
}

function covers(e: DeviceException, type: 'c' | 'b', major: number, minor: number): boolean {
  return e.type === type && (e.major === -1 || e.major === major) && (e.minor === -1 || e.minor === minor);
}

/** Whether the state lets a request through (the reference the BPF program is tested against). */
export function stateAllows(state: DeviceState, type: 'c' | 'b', major: number, minor: number, access: number): boolean {
  if (state.defaultAllow) {
    return !state.exceptions.some((e) => covers(e, type, major, minor) && (e.access & access) !== 0);
  }
  return state.exceptions.some((e) => covers(e, type, major, minor) && (access & ~e.access) === 0);
}

/** A rule as a v1 devices.allow/devices.deny line: "c 1:3 rwm". */
export function ruleLine(rule: NormalRule): string {
  const n = (x: number): string => (x === -1 ? '*' : String(x));
  let acc = '';
  if (rule.access & ACC_READ) acc += 'r';
  if (rule.access & ACC_WRITE) acc += 'w';
  if (rule.access & ACC_MKNOD) acc += 'm';
  return `${rule.type} ${n(rule.major)}:${n(rule.minor)} ${acc}`;
}

export function planDevices(rules: LinuxDeviceCgroup[], placement: ControllerPlacement, plan: ResourcePlan): void {
  const normal = rules.map(normalizeRule);
  const v1 = placeController(placement, 'devices');
  if (v1 && v1.version === 1) {
    plan.writes.push({ hierarchy: v1.hierarchy, file: 'devices.deny', value: 'a', field: FIELD });
    normal.forEach((r, i) => {
      plan.writes.push({ hierarchy: v1.hierarchy, file: r.allow ? 'devices.allow' : 'devices.deny', value: ruleLine(r), field: `${FIELD}[${i}]` });
    });
    return;
  }
  if (!placement.v2) {
    throw new CartonError('EUNSUPPORTED', `${FIELD}: the devices cgroup controller is not available on this host`);
  }
  let state: DeviceState = { defaultAllow: false, exceptions: [] };
  for (const r of normal) state = applyRule(state, r);
  plan.devices = { hierarchy: 'unified', field: FIELD, insns: compileDeviceProgram(state) };
}

/**
 * The rules a container gets when the runtime adds its defaults, as runc does: the
 * config's rules, then mknod of anything, then the usual safe nodes (null, zero, full,
 * random, urandom, tty, ptmx, pts/*, tun), then every node the config creates.
 */
export function containerDeviceRules(configured: LinuxDeviceCgroup[] | undefined, created: LinuxDevice[] | undefined): LinuxDeviceCgroup[] {
  const rwm = 'rwm';
  const out: LinuxDeviceCgroup[] = [...(configured ?? [])];
  out.push({ allow: true, type: 'c', major: null, minor: null, access: 'm' });
  out.push({ allow: true, type: 'b', major: null, minor: null, access: 'm' });
  for (const [major, minor] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 2], [136, -1], [10, 200]]) {
    out.push({ allow: true, type: 'c', major, minor: minor === -1 ? null : minor, access: rwm });
  }
  for (const d of created ?? []) {
    if (d.type === 'p') continue; // FIFOs are not device-cgroup controlled
    out.push({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major ?? null, minor: d.minor ?? null, access: rwm });
  }
  return out;
}

/**
 * What a v1 devices.list says. Under default allow the kernel shows only "a *:* rwm"
 * and hides the deny exceptions, so that state is reported as unknown-exceptions.
 */
export function parseDevicesList(text: string): { state: DeviceState; exact: boolean } {
  const exceptions: DeviceException[] = [];
  for (const line of text.split('\n')) {
    const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'a') return { state: { defaultAllow: true, exceptions: [] }, exact: false };
    const n = (s: string): number => (s === '*' ? -1 : Number(s));
    exceptions.push({ type: m[1] as 'c' | 'b', major: n(m[2]), minor: n(m[3]), access: parseAccess(m[4], FIELD) });
  }
  return { state: { defaultAllow: false, exceptions }, exact: true };
}

/**
 * The v1 writes that take a running cgroup from `current` to `target` without the
 * moment of "deny everything" a reset would cause: when both deny by default, only the
 * access bits that differ are withdrawn (first, so nothing extra is ever allowed) and then
 * granted. Otherwise a reset to the target's default, then its exceptions.
 */
export function deviceTransition(current: { state: DeviceState; exact: boolean }, target: DeviceState): NormalRule[] {
  const key = (e: DeviceException): string => `${e.type} ${e.major}:${e.minor}`;
  if (!current.exact || current.state.defaultAllow || target.defaultAllow) {
    return [
      { allow: target.defaultAllow, type: 'a', major: -1, minor: -1, access: ACC_ALL },
      ...target.exceptions.map((e) => ({ allow: !target.defaultAllow, ...e })),
    ];
  }
  const want = new Map(target.exceptions.map((e) => [key(e), e]));
  const have = new Map(current.state.exceptions.map((e) => [key(e), e]));
  const out: NormalRule[] = [];
  for (const e of current.state.exceptions) {
    const drop = e.access & ~(want.get(key(e))?.access ?? 0);
    if (drop) out.push({ allow: false, type: e.type, major: e.major, minor: e.minor, access: drop });
  }
  for (const e of target.exceptions) {
    const add = e.access & ~(have.get(key(e))?.access ?? 0);
    if (add) out.push({ allow: true, type: e.type, major: e.major, minor: e.minor, access: add });
  }
  return out;
}
