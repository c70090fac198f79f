/**
 * Image config + `carton run` options → the OCI config.json Docker would write for the
 * same `docker run` (shape modelled on a real dockerd config.json). Pure: everything taken
 * from the host (user database, generated /etc files, volumes, host devices, seccomp
 * profile) is resolved by the caller and passed in, so this is unit-testable without root.
 */
import type { LinuxDevice, LinuxSeccomp, Mount, Spec } from '../oci/spec';
import type { ImageRunConfig } from '../storage/image-types';
import { CartonError } from '../common/errors';
import {
  DEFAULT_DEVICE_RULES, DEFAULT_MASKED_PATHS, DEFAULT_PATH, DEFAULT_READONLY_PATHS, defaultMounts, effectiveCaps,
} from './defaults';
import type { RunOptions, UserMount } from './run-options';
import { seccompForCaps } from '../seccomp/seccomp-caps';
import type { ResolvedUser } from './user';

export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

export interface SpecInputs {
  id: string;
  /** Absolute host path of the container's root filesystem. */
  rootfs: string;
  /** The image's runtime config ({} for --rootfs runs). */
  image: ImageRunConfig;
  /** CMD… given after the image on the command line. */
  command: string[];
  options: RunOptions;
  user: ResolvedUser;
  hostname: string;
  /** Host paths of the generated files bind-mounted over /etc/{resolv.conf,hostname,hosts}. */
  etcFiles: { resolvConf: string; hostname: string; hosts: string };
  /** User mounts with volumes already turned into host directories (type 'bind' or 'tmpfs'). */
  mounts: UserMount[];
  /** undefined: no seccomp filter (unconfined or privileged). */
  seccomp?: LinuxSeccomp;
  /** The profile is Docker's default: adjust it to the capabilities, as Docker does. */
  seccompIsDefault?: boolean;
  /** Devices given to a privileged container (the host's /dev). */
  hostDevices?: LinuxDevice[];
  consoleSize?: { height: number; width: number };
  /** Parent of the container's cgroup; the path is `<parent>/<id>`. */
  cgroupParent?: string;
  /** Capabilities Carton itself may grant (its bounding set); default: all. */
  availableCaps?: string[];
}

/** Docker's entrypoint/cmd rules; throws "No command specified" when both end up empty. */
export function resolveArgs(image: ImageRunConfig, command: string[], entrypointFlag: string | undefined): string[] {
  let entrypoint: string[];
  let cmd: string[];
  if (entrypointFlag !== undefined) {
    // --entrypoint replaces the image's entrypoint and discards its CMD — unless the
    // entrypoint is cleared with '', which keeps the image CMD as the whole command.
    entrypoint = entrypointFlag === '' ? [] : [entrypointFlag];
    cmd = command.length > 0 ? command : entrypointFlag === '' ? (image.Cmd ?? []) : [];
  } else {
    entrypoint = image.Entrypoint ?? [];
    cmd = command.length > 0 ? command : (image.Cmd ?? []);
  }
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new CartonError('EINVAL_CONFIG', 'No command specified', { exitCode: 125 });
  return args;
}

const envKey = (e: string): string => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);

/** Replace entries of `base` whose key appears in `over`, append the rest (Docker's env merge). */
export function replaceOrAppendEnv(base: string[], over: string[]): string[] {
  const out = [...base];
  for (const e of over) {
    const i = out.findIndex((b) => envKey(b) === envKey(e));
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}

/** PATH, HOSTNAME, TERM (with -t), then image Env overridden by -e / --env-file, then HOME. */
export function buildEnv(imageEnv: string[], userEnv: string[], hostname: string, tty: boolean, home: string): string[] {
  const base = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  if (tty) base.push('TERM=xterm');
  const env = replaceOrAppendEnv(base, replaceOrAppendEnv(imageEnv, userEnv));
  // runc fills HOME in from the image's passwd at exec time; an OCI runtime need not, so say it here.
  if (!env.some((e) => envKey(e) === 'HOME')) env.push(`HOME=${home}`);
  return env;
}

export function checkWorkdir(dir: string): void {
  if (!dir.startsWith('/')) {
    throw new CartonError('EINVAL_CONFIG', `the working directory '${dir}' is invalid, it needs to be an absolute path`, { exitCode: 125 });
  }
}

function depth(p: string): number {
  return p.split('/').filter(Boolean).length;
}

function userMountToOci(m: UserMount): Mount {
  if (m.type === 'tmpfs') {
    const opts = ['noexec', 'nosuid', 'nodev'];
    for (const o of m.options) {
      // User options win over the defaults they contradict ("exec" over "noexec").
      const opposite = o === 'exec' ? 'noexec' : o === 'suid' ? 'nosuid' : o === 'dev' ? 'nodev' : undefined;
      if (opposite) opts.splice(opts.indexOf(opposite), 1);
      else if (!opts.includes(o)) opts.push(o);
    }
    if (m.readonly) opts.push('ro');
    return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options: opts };
  }
  const opts = ['rbind'];
  if (m.readonly) opts.push('ro');
  const propagation = m.options.find((o) => /^r?(private|shared|slave)$/.test(o));
  opts.push(propagation ?? 'rprivate');
  return { destination: m.target, type: 'bind', source: m.source, options: opts };
}

export function buildSpec(input: SpecInputs): Spec {
  const o = input.options;
  const args = resolveArgs(input.image, input.command, o.entrypoint);
  const cwd = o.workdir || input.image.WorkingDir || '/';
  checkWorkdir(cwd);
  const caps = effectiveCaps(o.capAdd, o.capDrop, o.privileged, input.availableCaps);

  const userMounts = input.mounts.map(userMountToOci);
  const userTargets = new Set(userMounts.map((m) => m.destination));
  const defaults = defaultMounts(o.privileged, o.shmSize ?? DEFAULT_SHM_SIZE).filter(
    (m) => !userTargets.has(m.destination) && !(userTargets.has('/dev') && m.destination.startsWith('/dev/')),
  );
  const etc: Mount[] = [
    { destination: '/etc/resolv.conf', type: 'bind', source: input.etcFiles.resolvConf, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: input.etcFiles.hostname, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: input.etcFiles.hosts, options: ['rbind', 'rprivate'] },
  ].filter((m) => !userTargets.has(m.destination));
  // Shallow destinations first, so a mount never hides one below it (stable within a depth).
  const extra = [...etc, ...userMounts]
    .map((m, i) => ({ m, i }))
    .sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i)
    .map((x) => x.m);

  const spec: Spec = {
    ociVersion: '1.0.2-dev',
    process: {
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids },
      args,
      env: buildEnv(input.image.Env ?? [], o.env, input.hostname, o.tty, input.user.home),
      cwd,
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      oomScoreAdj: 0,
    },
    root: { path: input.rootfs },
    hostname: input.hostname,
    mounts: [...defaults, ...extra],
    linux: {
      resources: { devices: o.privileged ? [{ allow: true, access: 'rwm' }] : DEFAULT_DEVICE_RULES.map((d) => ({ ...d })) },
      cgroupsPath: `${input.cgroupParent ?? '/carton'}/${input.id}`,
      namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }],
    },
  };
  const proc = spec.process!;
  const linux = spec.linux!;
  const res = linux.resources!;
  if (o.tty) {
    proc.terminal = true;
    if (input.consoleSize) proc.consoleSize = input.consoleSize;
  }
  if (o.noNewPrivileges) proc.noNewPrivileges = true;
  if (o.readOnly) spec.root!.readonly = true;
  if (o.network === 'host') {
    linux.namespaces = linux.namespaces!.filter((n) => n.type !== 'network');
  } else {
    // lo is up in a new network namespace without a hook: carton-runtime sets it up (as runc does).
    // Per-network-namespace sysctls Docker sets so unprivileged ports and ping work.
    linux.sysctl = { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' };
  }
  if (o.memory !== undefined && o.memory > 0) {
    if (o.memory < 6 * 1024 * 1024) throw new CartonError('EINVAL_CONFIG', 'Minimum memory limit allowed is 6MB', { exitCode: 125 });
    // Docker lets a container swap as much again as its memory limit unless told otherwise.
    res.memory = { limit: o.memory, swap: o.memory * 2 };
  }
  if (o.nanoCpus !== undefined && o.nanoCpus > 0) {
    res.cpu = { quota: Math.round((o.nanoCpus * 100000) / 1e9), period: 100000 };
  }
  if (o.pidsLimit !== undefined && o.pidsLimit > 0) res.pids = { limit: o.pidsLimit };
  if (o.privileged) {
    if (input.hostDevices && input.hostDevices.length > 0) linux.devices = input.hostDevices;
  } else {
    if (input.seccomp) linux.seccomp = input.seccompIsDefault ? seccompForCaps(input.seccomp, caps) : input.seccomp;
    linux.maskedPaths = [...DEFAULT_MASKED_PATHS];
    linux.readonlyPaths = [...DEFAULT_READONLY_PATHS];
  }
  return spec;
}
