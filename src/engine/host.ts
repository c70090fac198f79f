/**
 * The host-facing side of preparing a container: generated /etc files, volumes,
 * working directory, seccomp profile, host devices. Kept apart from the pure spec builder.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LinuxDevice, LinuxSeccomp } from '../oci/spec';
import { CartonError, nodeErrorReason } from '../common/errors';
import { dockerDefaultProfile } from '../seccomp/docker-default';
import { capsFromMask } from './defaults';
import { hostnameFile, hostsFile, resolvConfFile } from './etc-files';
import type { NetworkMode, SeccompChoice, UserMount } from './run-options';

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

export interface EtcFiles {
  resolvConf: string;
  hostname: string;
  hosts: string;
}

/** Where a container's generated /etc files live (its record directory). */
export function etcFilePaths(dir: string): EtcFiles {
  return { resolvConf: path.join(dir, 'resolv.conf'), hostname: path.join(dir, 'hostname'), hosts: path.join(dir, 'hosts') };
}

/** Write hostname, hosts and resolv.conf to their paths. */
export function writeEtcFiles(files: EtcFiles, hostname: string, network: NetworkMode): EtcFiles {
  fs.writeFileSync(files.hostname, hostnameFile(hostname));
  fs.writeFileSync(files.hosts, hostsFile(network, readOr('/etc/hosts', '127.0.0.1\tlocalhost\n')));
  fs.writeFileSync(files.resolvConf, resolvConfFile(network, readOr('/etc/resolv.conf', '')));
  return files;
}

/**
 * Walk `inner` inside `rootfs` without following symlinks out of it. Returns the host path
 * when every component is a real directory (or missing, when `create`), else undefined.
 */
export function safeDirInRootfs(rootfs: string, inner: string, create: boolean): string | undefined {
  let current = rootfs;
  for (const part of inner.split('/').filter((p) => p && p !== '.')) {
    if (part === '..') return undefined;
    current = path.join(current, part);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(current);
    } catch {
      st = undefined;
    }
    if (st === undefined) {
      if (!create) return undefined;
      fs.mkdirSync(current, { mode: 0o755 });
      continue;
    }
    if (!st.isDirectory()) return undefined;
  }
  return current;
}

export interface PreparedMounts {
  mounts: UserMount[];
  anonymousVolumes: string[];
}

/**
 * Turn volume mounts (named, anonymous, and the image's VOLUMEs not covered by a user
 * mount) into bind mounts of directories under `<root>/volumes`; check bind sources.
 * A new volume starts with a copy of what the image has at its path, as Docker's do.
 */
export function prepareMounts(root: string, rootfs: string, userMounts: UserMount[], imageVolumes: string[]): PreparedMounts {
  const all = [...userMounts];
  for (const v of imageVolumes) {
    const target = '/' + v.split('/').filter(Boolean).join('/');
    if (!all.some((m) => m.target === target)) all.push({ type: 'volume', source: '', target, readonly: false, options: [], createSource: true });
  }
  const anonymousVolumes: string[] = [];
  const mounts: UserMount[] = [];
  for (const m of all) {
    if (m.type === 'tmpfs') {
      mounts.push(m);
      continue;
    }
    if (m.type === 'bind') {
      if (!fs.existsSync(m.source)) {
        if (!m.createSource) {
          throw new CartonError('EINVAL_CONFIG', `invalid mount config for type "bind": bind source path does not exist: ${m.source}`, { exitCode: 125 });
        }
        try {
          fs.mkdirSync(m.source, { recursive: true, mode: 0o755 });
        } catch (err) {
          throw new CartonError('EKERNEL', `error while creating mount source path '${m.source}': ${nodeErrorReason(err)}`, { exitCode: 125 });
        }
      }
      mounts.push(m);
      continue;
    }
    const name = m.source || (require('crypto') as typeof import('crypto')).randomBytes(32).toString('hex');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
      throw new CartonError('EINVAL_CONFIG', `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`, { exitCode: 125 });
    }
    const data = path.join(root, 'volumes', name, '_data');
    const fresh = !fs.existsSync(data);
    fs.mkdirSync(data, { recursive: true, mode: 0o755 });
    if (!m.source) anonymousVolumes.push(path.dirname(data));
    if (fresh) {
      const inImage = safeDirInRootfs(rootfs, m.target, false);
      if (inImage) copyPreserving(inImage, data, m.target);
    }
    mounts.push({ ...m, type: 'bind', source: data });
  }
  return { mounts, anonymousVolumes };
}

/**
 * Seed a new volume with the image's files at its path, keeping owners, modes, xattrs and
 * links (a database image's data directory belongs to its database user), and giving the
 * volume's root the image directory's owner and mode. Node has no lchown-preserving copy,
 * so this uses cp -a.
 */
function copyPreserving(from: string, to: string, target: string): void {
  // child_process costs ~3 ms to load: only runs that seed a volume pay for it.
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const res = spawnSync('cp', ['-a', '--', `${from}/.`, to], { encoding: 'utf8' });
  if (res.status !== 0) {
    throw new CartonError('EKERNEL', `volume ${target}: copying the image's content: ${(res.stderr || res.error?.message || '').trim()}`, { exitCode: 125 });
  }
}

/** The seccomp filter for the container: Docker's default, a profile file, or none. */
export function loadSeccomp(choice: SeccompChoice, privileged: boolean): LinuxSeccomp | undefined {
  if (privileged || choice.kind === 'unconfined') return undefined;
  if (choice.kind === 'default') return dockerDefaultProfile();
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(choice.path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new CartonError('EINVAL_CONFIG', `opening seccomp profile (${choice.path}) failed: ${nodeErrorReason(err)}`, { exitCode: 125 });
  }
  return dockerProfileToOci(raw);
}

/** Docker's profile format (archMap, per-rule includes/excludes) → OCI linux.seccomp. */
export function dockerProfileToOci(raw: Record<string, unknown>): LinuxSeccomp {
  const out: LinuxSeccomp = { defaultAction: raw.defaultAction as LinuxSeccomp['defaultAction'] };
  if (typeof raw.defaultErrnoRet === 'number') out.defaultErrnoRet = raw.defaultErrnoRet;
  const archMap = raw.archMap as { architecture: string; subArchitectures?: string[] }[] | undefined;
  if (Array.isArray(raw.architectures)) out.architectures = raw.architectures as string[];
  else if (Array.isArray(archMap)) {
    const native = archMap.find((a) => a.architecture === 'SCMP_ARCH_X86_64');
    if (native) out.architectures = [native.architecture, ...(native.subArchitectures ?? [])];
  }
  if (Array.isArray(raw.flags)) out.flags = raw.flags as string[];
  const syscalls: NonNullable<LinuxSeccomp['syscalls']> = [];
  for (const s of (raw.syscalls as Record<string, unknown>[] | undefined) ?? []) {
    const excludes = s.excludes as { caps?: string[]; arches?: string[] } | undefined;
    const includes = s.includes as { caps?: string[]; arches?: string[]; minKernel?: string } | undefined;
    // Rules conditioned on capabilities are left to the default profile; in a file, keep
    // the unconditional ones and those for this architecture.
    if (includes?.caps?.length) continue;
    if (includes?.arches?.length && !includes.arches.some((a) => a === 'amd64' || a === 'x86_64')) continue;
    if (excludes?.arches?.some((a) => a === 'amd64' || a === 'x86_64')) continue;
    const names = (s.names as string[] | undefined) ?? (typeof s.name === 'string' ? [s.name] : []);
    const rule: NonNullable<LinuxSeccomp['syscalls']>[number] = { names, action: s.action as LinuxSeccomp['defaultAction'] };
    if (typeof s.errnoRet === 'number') rule.errnoRet = s.errnoRet;
    if (Array.isArray(s.args) && s.args.length > 0) rule.args = s.args as NonNullable<typeof rule.args>;
    syscalls.push(rule);
  }
  if (syscalls.length > 0) out.syscalls = syscalls;
  return out;
}

/** Character and block devices of the host's /dev, for --privileged. */
export function hostDevices(dir = '/dev'): LinuxDevice[] {
  const out: LinuxDevice[] = [];
  const skip = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/fd', '/dev/console', '/dev/ptmx']);
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (skip.has(p)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isCharacterDevice() || e.isBlockDevice()) {
        const st = fs.statSync(p, { bigint: false });
        const rdev = st.rdev;
        const high = Math.floor(rdev / 2 ** 32);
        const major = ((rdev >>> 8) & 0xfff) | (high & ~0xfff);
        const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
        out.push({ path: p, type: e.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
      }
    }
  };
  walk(dir);
  return out;
}

export function hostCpuCount(): number {
  return os.cpus().length || 1;
}

/** Carton's own capability bounding set: what a container can possibly be given. */
export function boundingCaps(): string[] | undefined {
  try {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? capsFromMask(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
