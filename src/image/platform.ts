/**
 * Platforms (`--platform os/arch[/variant]`) and choosing one manifest out of a manifest
 * list or OCI index. Normalised as containerd normalises them, so `aarch64`, `arm64/v8`
 * and `arm64` are one platform and `x86_64` is `amd64`.
 */
import { CartonError } from '../common/errors';
import type { Descriptor } from '../storage/image-types';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const KNOWN_OS = new Set(['linux', 'windows', 'darwin', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos', 'aix', 'plan9']);

function normalizeArch(arch: string, variant: string | undefined): { architecture: string; variant?: string } {
  const a = arch.toLowerCase();
  const v = variant?.toLowerCase();
  switch (a) {
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: v && v !== 'v1' ? v : undefined };
    case 'i386':
    case 'i686':
      return { architecture: '386' };
    case 'aarch64':
    case 'arm64':
      return { architecture: 'arm64', variant: v === '8' || v === 'v8' || !v ? 'v8' : v };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      return { architecture: 'arm', variant: !v ? 'v7' : /^\d$/.test(v) ? `v${v}` : v };
    default:
      return { architecture: a, variant: v };
  }
}

export function normalizePlatform(p: Platform): Platform {
  const { architecture, variant } = normalizeArch(p.architecture, p.variant);
  const out: Platform = { os: p.os.toLowerCase(), architecture };
  if (variant) out.variant = variant;
  return out;
}

/** The platform this host runs (Node's process.arch in OCI words). */
export function hostPlatform(): Platform {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return normalizePlatform({ os: 'linux', architecture: map[process.arch] ?? process.arch });
}

/** Parse `--platform`: `linux/amd64`, `linux/arm/v7`, `arm64`, `linux`. */
export function parsePlatform(spec: string): Platform {
  const parts = spec.trim().split('/');
  const bad = (): CartonError =>
    new CartonError('EINVAL_CONFIG', `--platform ${JSON.stringify(spec)}: expected os/arch[/variant], e.g. linux/amd64`, {
      exitCode: 125,
    });
  if (parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p))) throw bad();
  if (parts.length === 1) {
    const host = hostPlatform();
    if (KNOWN_OS.has(parts[0].toLowerCase())) return normalizePlatform({ ...host, os: parts[0] });
    return normalizePlatform({ os: 'linux', architecture: parts[0] });
  }
  if (parts.length > 3) throw bad();
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/** Does a descriptor's platform satisfy the wanted one? A wanted variant must match exactly. */
export function platformMatches(want: Platform, have: Platform): boolean {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  if (w.variant && h.variant && w.variant !== h.variant) return false;
  return true;
}

/**
 * Pick the manifest for `want` out of an index. Exact variant matches win over entries
 * without a variant; attestation manifests (`unknown/unknown`) are never chosen.
 */
export function selectManifest(manifests: Descriptor[], want: Platform, what: string): Descriptor {
  const w = normalizePlatform(want);
  const candidates = manifests.filter((d) => d.platform && platformMatches(w, d.platform as Platform));
  const exact = candidates.find((d) => normalizePlatform(d.platform as Platform).variant === w.variant);
  const chosen = exact ?? candidates[0];
  if (!chosen) {
    const offered = manifests
      .filter((d) => d.platform && d.platform.os !== 'unknown')
      .map((d) => formatPlatform(normalizePlatform(d.platform as Platform)));
    throw new CartonError(
      'ENOTFOUND',
      `no matching manifest for ${formatPlatform(w)} in the manifest list entries of ${what}`,
      { hint: offered.length ? `available: ${offered.join(', ')}` : undefined },
    );
  }
  return chosen;
}
