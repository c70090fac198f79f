/**
 * Image references parsed the way Docker parses them (distribution's reference grammar
 * plus its "normalized name" rules): `busybox` is `docker.io/library/busybox:latest`,
 * the first path component is a registry only when it looks like a host (has a dot or
 * a port, or is `localhost`, or has upper-case letters), `index.docker.io` is `docker.io`.
 * Scripts match on the error text, so the wording follows Docker's.
 */
import { CartonError } from '../common/errors';

export const DEFAULT_DOMAIN = 'docker.io';
/** The host Docker Hub's registry API answers on (docker.io itself only redirects). */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_MAX = 255;

// Grammar pieces, written from the reference grammar's description.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_ID_RE = /^[a-f0-9]{64}$/;
const TAG_RE = new RegExp(`^${TAG}$`);

/** A fully normalized image reference. */
export interface ImageReference {
  /** Registry host as written (`docker.io`, `localhost:5000`, `[::1]:5000`). */
  domain: string;
  /** Repository path inside the registry (`library/busybox`). */
  path: string;
  /** Tag; `latest` when neither a tag nor a digest was given. */
  tag?: string;
  /** `sha256:…` when pinned by digest. */
  digest?: string;
}

function invalid(detail?: string): CartonError {
  const message = detail ? `invalid reference format: ${detail}` : 'invalid reference format';
  return new CartonError('EINVAL_CONFIG', message, { exitCode: 125 });
}

/**
 * Split off the registry host the way Docker does: the part before the first `/` is a
 * host only if it contains `.` or `:`, is `localhost`, or has upper-case letters
 * (repository paths never may, so it can only mean a host).
 */
function splitDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (
    slash === -1 ||
    (!first.includes('.') && !first.includes(':') && first !== 'localhost' && first.toLowerCase() === first)
  ) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/** Validate a digest's algorithm and length the way the digest package does. */
function checkDigest(digest: string): void {
  const [algorithm, hex] = digest.split(':', 2);
  const lengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
  const want = lengths[algorithm];
  if (want === undefined) {
    throw new CartonError('EINVAL_CONFIG', `invalid reference format: unsupported digest algorithm "${algorithm}"`, {
      exitCode: 125,
    });
  }
  if (hex.length !== want) throw invalid('invalid checksum digest length');
  if (hex !== hex.toLowerCase()) throw invalid('invalid checksum digest format');
}

/** Parse a user-typed reference (`busybox`, `localhost:5000/a/b:v1@sha256:…`). */
export function parseReference(input: string): ImageReference {
  if (input === '') throw invalid('repository name must have at least one component');
  if (ANCHORED_ID_RE.test(input)) {
    throw new CartonError(
      'EINVAL_CONFIG',
      `invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`,
      { exitCode: 125 },
    );
  }
  const m = REFERENCE_RE.exec(input);
  if (!m) {
    if (REFERENCE_RE.test(input.toLowerCase())) throw invalid('repository name must be lowercase');
    throw invalid();
  }
  const [, name, tag, digest] = m;
  const { domain, remainder } = splitDomain(name);
  if (remainder !== remainder.toLowerCase()) throw invalid('repository name must be lowercase');
  const full = `${domain}/${remainder}`;
  if (full.length > NAME_TOTAL_MAX) throw invalid(`repository name (${remainder}) is too long`);
  if (digest) checkDigest(digest);
  const ref: ImageReference = { domain, path: remainder };
  if (tag) ref.tag = tag;
  if (digest) ref.digest = digest;
  if (!tag && !digest) ref.tag = 'latest';
  return ref;
}

/** `docker.io/library/busybox` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Full normalized form: `docker.io/library/busybox:latest`, `host/x@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  let s = repositoryName(ref);
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/** Docker's "familiar" name: `busybox`, `user/app`, `localhost:5000/app` (no tag). */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) ? ref.path.slice(OFFICIAL_REPO_PREFIX.length) : ref.path;
}

/** Familiar name with tag and/or digest, as `docker images`/`docker pull` print it. */
export function familiarString(ref: ImageReference): string {
  let s = familiarName(ref);
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/** Validate a tag given on its own (`carton tag SRC TARGET` parses TARGET whole, this is for APIs). */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** The host:port the registry API is reached on (Docker Hub's API host differs from its name). */
export function registryApiHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? DOCKER_HUB_API_HOST : domain;
}

/**
 * Whether a registry host is on the loopback interface: Docker treats those as insecure
 * registries (plain HTTP allowed) without configuration.
 */
export function isLoopbackRegistry(domain: string): boolean {
  let host = domain;
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']'));
  else if (host.includes(':')) host = host.slice(0, host.lastIndexOf(':'));
  host = host.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The store's name normaliser (`openStore(root, { normalizeName: normalizeImageName })`):
 * names recorded by pull and names typed by users then compare equal. Throws on a name
 * that is not a valid reference.
 */
export function normalizeImageName(name: string): string {
  return formatReference(parseReference(name));
}
