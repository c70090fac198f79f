/**
 * Parse-level validation of config.json: everything that can be judged from
 * the JSON alone, before any syscall. Each error is a CartonError
 * ('EINVAL_CONFIG', or 'EUNSUPPORTED' for features Carton lacks) whose message
 * starts with the field path, e.g. `linux.namespaces[2].type: unknown namespace type "foo"`.
 *
 * The planner trusts what passes here (types, names, ranges), so every field
 * it reads is checked in this file.
 */
import type { Process, Spec } from './spec';
import { capabilityBit, CAPABILITY_SETS } from '../plan/capabilities';
import { rlimitResource } from '../plan/rlimits';
import { propagationFlags } from '../plan/mount-options';
import { checkIdMappings, checkMappedIds } from './validate-ids';
import { checkSysctls } from './validate-sysctl';
import { checkResources } from './validate-resources';
import {
  type Obj, fail, unsupported, isObj, optObj, optBool, optString, optInt, optStringArray, optArray,
  reqString, reqInt, isAbsolute,
} from './validate-util';

export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;

/** Check a parsed config.json and return it typed. Throws on the first problem found. */
export function validateSpec(spec: unknown): Spec {
  if (!isObj(spec)) fail('config.json', 'must be a JSON object');
  checkVersion(spec);
  checkRoot(spec);
  const namespaces = checkNamespaces(spec);
  checkProcess(spec);
  const hostname = optString(spec, 'hostname', 'hostname');
  if (hostname && Buffer.byteLength(hostname) > 64) fail('hostname', 'longer than 64 bytes');
  if (hostname && !namespaces.has('uts')) {
    fail('hostname', 'cannot be set without a uts namespace (add {"type": "uts"} to linux.namespaces)');
  }
  const domainname = optString(spec, 'domainname', 'domainname');
  if (domainname && Buffer.byteLength(domainname) > 64) fail('domainname', 'longer than 64 bytes');
  if (domainname && !namespaces.has('uts')) {
    fail('domainname', 'cannot be set without a uts namespace (add {"type": "uts"} to linux.namespaces)');
  }
  checkMounts(spec);
  checkHooks(spec);
  const annotations = optObj(spec, 'annotations', 'annotations');
  for (const [k, v] of Object.entries(annotations ?? {})) {
    if (typeof v !== 'string') fail(`annotations[${JSON.stringify(k)}]`, 'must be a string');
  }
  checkLinux(spec, namespaces);
  return spec as unknown as Spec;
}

function checkVersion(spec: Obj): void {
  const version = reqString(spec, 'ociVersion', 'ociVersion');
  const m = /^(\d+)\.(\d+)(\.\d+)?/.exec(version);
  if (!m) fail('ociVersion', `${JSON.stringify(version)} is not a version`);
  if (m[1] !== '1') {
    fail('ociVersion', `unsupported version ${JSON.stringify(version)}: carton-runtime implements runtime-spec 1.x`);
  }
}

function checkRoot(spec: Obj): void {
  const root = optObj(spec, 'root', 'root');
  if (!root) fail('root', 'required');
  const path = reqString(root, 'path', 'root.path');
  if (path === '') fail('root.path', 'must not be empty');
  optBool(root, 'readonly', 'root.readonly');
}

/** Namespace types → whether each is created (no path) or joined. */
type NamespaceSet = Map<string, { path?: string }>;

function checkNamespaces(spec: Obj): NamespaceSet {
  const out: NamespaceSet = new Map();
  const linux = optObj(spec, 'linux', 'linux');
  if (!linux) return out;
  const list = optArray(linux, 'namespaces', 'linux.namespaces') ?? [];
  list.forEach((ns, i) => {
    const field = `linux.namespaces[${i}]`;
    if (!isObj(ns)) fail(field, 'must be an object');
    const type = reqString(ns, 'type', `${field}.type`);
    if (!(NAMESPACE_TYPES as readonly string[]).includes(type)) {
      fail(`${field}.type`, `unknown namespace type ${JSON.stringify(type)}`);
    }
    if (out.has(type)) fail(`${field}.type`, `duplicate namespace type ${JSON.stringify(type)}`);
    const path = optString(ns, 'path', `${field}.path`);
    if (path !== undefined && path !== '' && !isAbsolute(path)) fail(`${field}.path`, 'must be an absolute path');
    out.set(type, { path: path || undefined });
  });
  return out;
}

function checkProcess(spec: Obj): void {
  const p = optObj(spec, 'process', 'process');
  if (!p) fail('process', 'required');
  checkProcessObject(p, 'process');
}

/**
 * Check a process object on its own: the `process` of config.json, or the
 * --process file of `exec` (then `field` names the file, e.g. "process.json").
 */
export function validateProcess(process: unknown, field = 'process'): Process {
  if (!isObj(process)) fail(field, 'must be a JSON object');
  checkProcessObject(process, field);
  return process as unknown as Process;
}

function checkProcessObject(p: Obj, at: string): void {
  const args = optStringArray(p, 'args', `${at}.args`);
  if (!args || args.length === 0) fail(`${at}.args`, 'must not be empty');
  if (args[0] === '') fail(`${at}.args[0]`, 'must not be empty');
  if (p.commandLine !== undefined) unsupported(`${at}.commandLine`, 'not supported on Linux');
  const cwd = reqString(p, 'cwd', `${at}.cwd`);
  if (!isAbsolute(cwd)) fail(`${at}.cwd`, `must be an absolute path, got ${JSON.stringify(cwd)}`);
  const env = optStringArray(p, 'env', `${at}.env`) ?? [];
  env.forEach((e, i) => {
    if (!e.includes('=') || e.startsWith('=')) fail(`${at}.env[${i}]`, `expected KEY=VALUE, got ${JSON.stringify(e)}`);
  });
  optBool(p, 'terminal', `${at}.terminal`);
  const size = optObj(p, 'consoleSize', `${at}.consoleSize`);
  if (size) {
    for (const k of ['height', 'width']) {
      const v = reqInt(size, k, `${at}.consoleSize.${k}`);
      if (v < 0 || v > 0xffff) fail(`${at}.consoleSize.${k}`, `must be between 0 and 65535, got ${v}`);
    }
  }
  const user = optObj(p, 'user', `${at}.user`);
  if (!user) fail(`${at}.user`, 'required');
  for (const k of ['uid', 'gid']) checkId(reqInt(user, k, `${at}.user.${k}`), `${at}.user.${k}`);
  const umask = optInt(user, 'umask', `${at}.user.umask`);
  if (umask !== undefined && (umask < 0 || umask > 0o777)) fail(`${at}.user.umask`, `must be between 0 and 0777, got ${umask}`);
  const gids = optArray(user, 'additionalGids', `${at}.user.additionalGids`) ?? [];
  gids.forEach((g, i) => {
    const f = `${at}.user.additionalGids[${i}]`;
    if (!Number.isInteger(g)) fail(f, 'must be an integer');
    checkId(g as number, f);
  });
  optString(user, 'username', `${at}.user.username`);
  checkCapabilities(p, at);
  checkRlimits(p, at);
  optBool(p, 'noNewPrivileges', `${at}.noNewPrivileges`);
  optString(p, 'apparmorProfile', `${at}.apparmorProfile`);
  optString(p, 'selinuxLabel', `${at}.selinuxLabel`);
  const oom = optInt(p, 'oomScoreAdj', `${at}.oomScoreAdj`);
  if (oom !== undefined && (oom < -1000 || oom > 1000)) fail(`${at}.oomScoreAdj`, `must be between -1000 and 1000, got ${oom}`);
  for (const k of ['ioPriority', 'scheduler', 'execCPUAffinity']) {
    if (p[k] !== undefined) unsupported(`${at}.${k}`, 'not supported by carton-runtime');
  }
}

function checkId(v: number, field: string): void {
  if (v < 0 || v > 0xfffffffe) fail(field, `must be between 0 and 4294967294, got ${v}`);
}

function checkCapabilities(p: Obj, at: string): void {
  const caps = optObj(p, 'capabilities', `${at}.capabilities`);
  if (!caps) return;
  for (const set of CAPABILITY_SETS) {
    const names = optStringArray(caps, set, `${at}.capabilities.${set}`) ?? [];
    names.forEach((name, i) => {
      if (capabilityBit(name) === undefined) {
        fail(`${at}.capabilities.${set}[${i}]`, `unknown capability ${JSON.stringify(name)}`);
      }
    });
  }
}

function checkRlimits(p: Obj, at: string): void {
  const list = optArray(p, 'rlimits', `${at}.rlimits`) ?? [];
  const seen = new Set<string>();
  list.forEach((r, i) => {
    const f = `${at}.rlimits[${i}]`;
    if (!isObj(r)) fail(f, 'must be an object');
    const type = reqString(r, 'type', `${f}.type`);
    if (rlimitResource(type) === undefined) fail(`${f}.type`, `unknown rlimit ${JSON.stringify(type)}`);
    if (seen.has(type)) fail(`${f}.type`, `duplicate rlimit ${JSON.stringify(type)}`);
    seen.add(type);
    for (const k of ['soft', 'hard']) {
      const v = r[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`${f}.${k}`, 'must be a non-negative number');
    }
    if ((r.soft as number) > (r.hard as number)) {
      fail(f, `${type}: soft limit ${r.soft} is greater than hard limit ${r.hard}`);
    }
  });
}

function checkMounts(spec: Obj): void {
  const list = optArray(spec, 'mounts', 'mounts') ?? [];
  list.forEach((m, i) => {
    const f = `mounts[${i}]`;
    if (!isObj(m)) fail(f, 'must be an object');
    const dest = reqString(m, 'destination', `${f}.destination`);
    if (!isAbsolute(dest)) fail(`${f}.destination`, `must be an absolute path, got ${JSON.stringify(dest)}`);
    const type = optString(m, 'type', `${f}.type`);
    const source = optString(m, 'source', `${f}.source`);
    const options = optStringArray(m, 'options', `${f}.options`) ?? [];
    const bind = type === 'bind' || options.includes('bind') || options.includes('rbind');
    if (bind && !source) fail(`${f}.source`, 'required for a bind mount');
    for (const k of ['uidMappings', 'gidMappings']) {
      const v = optArray(m, k, `${f}.${k}`);
      if (v && v.length > 0) unsupported(`${f}.${k}`, 'idmapped mounts are not supported by carton-runtime');
    }
  });
}

function checkHooks(spec: Obj): void {
  const hooks = optObj(spec, 'hooks', 'hooks');
  if (!hooks) return;
  for (const kind of ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']) {
    const list = optArray(hooks, kind, `hooks.${kind}`) ?? [];
    list.forEach((h, i) => {
      const f = `hooks.${kind}[${i}]`;
      if (!isObj(h)) fail(f, 'must be an object');
      const path = reqString(h, 'path', `${f}.path`);
      if (!isAbsolute(path)) fail(`${f}.path`, `must be an absolute path, got ${JSON.stringify(path)}`);
      optStringArray(h, 'args', `${f}.args`);
      optStringArray(h, 'env', `${f}.env`);
      const timeout = optInt(h, 'timeout', `${f}.timeout`);
      if (timeout !== undefined && timeout <= 0) fail(`${f}.timeout`, `must be greater than zero, got ${timeout}`);
    });
  }
}

function checkLinux(spec: Obj, namespaces: NamespaceSet): void {
  const linux = optObj(spec, 'linux', 'linux');
  if (!linux) return;
  checkIdMappings(spec, linux, namespaces);
  checkMappedIds(spec, linux, namespaces);
  checkSysctls(linux, namespaces);
  checkDevices(linux);
  const resources = optObj(linux, 'resources', 'linux.resources');
  if (resources) checkResources(resources, 'linux.resources');
  optString(linux, 'cgroupsPath', 'linux.cgroupsPath');
  const seccomp = optObj(linux, 'seccomp', 'linux.seccomp');
  if (seccomp) reqString(seccomp, 'defaultAction', 'linux.seccomp.defaultAction');
  const prop = optString(linux, 'rootfsPropagation', 'linux.rootfsPropagation');
  if (prop && propagationFlags(prop) === undefined) {
    fail('linux.rootfsPropagation', `unknown propagation ${JSON.stringify(prop)} (use shared, slave, private, unbindable or their r-prefixed forms)`);
  }
  for (const k of ['maskedPaths', 'readonlyPaths']) {
    (optStringArray(linux, k, `linux.${k}`) ?? []).forEach((path, i) => {
      if (!isAbsolute(path)) fail(`linux.${k}[${i}]`, `must be an absolute path, got ${JSON.stringify(path)}`);
    });
  }
  optString(linux, 'mountLabel', 'linux.mountLabel');
  const pers = optObj(linux, 'personality', 'linux.personality');
  if (pers) {
    const domain = reqString(pers, 'domain', 'linux.personality.domain');
    if (domain !== 'LINUX' && domain !== 'LINUX32') {
      fail('linux.personality.domain', `unknown domain ${JSON.stringify(domain)} (use LINUX or LINUX32)`);
    }
    const flags = optStringArray(pers, 'flags', 'linux.personality.flags') ?? [];
    if (flags.length > 0) unsupported('linux.personality.flags', 'not supported by carton-runtime');
  }
  checkTimeOffsets(linux, namespaces);
  if (linux.intelRdt !== undefined) unsupported('linux.intelRdt', 'not supported by carton-runtime');
}

function checkDevices(linux: Obj): void {
  const list = optArray(linux, 'devices', 'linux.devices') ?? [];
  const seen = new Set<string>();
  list.forEach((d, i) => {
    const f = `linux.devices[${i}]`;
    if (!isObj(d)) fail(f, 'must be an object');
    const path = reqString(d, 'path', `${f}.path`);
    if (!isAbsolute(path)) fail(`${f}.path`, `must be an absolute path, got ${JSON.stringify(path)}`);
    if (!path.startsWith('/dev/')) fail(`${f}.path`, `must be under /dev, got ${JSON.stringify(path)}`);
    if (seen.has(path)) fail(`${f}.path`, `duplicate device ${JSON.stringify(path)}`);
    seen.add(path);
    const type = reqString(d, 'type', `${f}.type`);
    if (!['c', 'b', 'u', 'p'].includes(type)) fail(`${f}.type`, `unknown device type ${JSON.stringify(type)} (use c, b, u or p)`);
    for (const k of ['major', 'minor']) {
      const v = optInt(d, k, `${f}.${k}`);
      if (type !== 'p' && v === undefined) fail(`${f}.${k}`, `required for device type ${JSON.stringify(type)}`);
      if (v !== undefined && v < 0) fail(`${f}.${k}`, 'must not be negative');
    }
    const mode = optInt(d, 'fileMode', `${f}.fileMode`);
    if (mode !== undefined && (mode < 0 || mode > 0o7777)) fail(`${f}.fileMode`, `must be a permission mode (0 to 07777), got ${mode}`);
    for (const k of ['uid', 'gid']) {
      const v = optInt(d, k, `${f}.${k}`);
      if (v !== undefined) checkId(v, `${f}.${k}`);
    }
  });
}

function checkTimeOffsets(linux: Obj, namespaces: NamespaceSet): void {
  const offsets = optObj(linux, 'timeOffsets', 'linux.timeOffsets');
  if (!offsets || Object.keys(offsets).length === 0) return;
  const time = namespaces.get('time');
  if (!time) fail('linux.timeOffsets', 'needs a time namespace (add {"type": "time"} to linux.namespaces)');
  if (time.path) fail('linux.timeOffsets', 'cannot be set when joining an existing time namespace');
  for (const [clock, v] of Object.entries(offsets)) {
    const f = `linux.timeOffsets.${clock}`;
    if (clock !== 'monotonic' && clock !== 'boottime') fail(f, `unknown clock ${JSON.stringify(clock)} (use monotonic or boottime)`);
    if (!isObj(v)) fail(f, 'must be an object');
    optInt(v, 'secs', `${f}.secs`);
    const ns = optInt(v, 'nanosecs', `${f}.nanosecs`);
    if (ns !== undefined && (ns < 0 || ns > 999_999_999)) fail(`${f}.nanosecs`, `must be between 0 and 999999999, got ${ns}`);
  }
}
