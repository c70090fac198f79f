/**
 * Registry credentials, in the files Docker and Podman already use, so a login made with
 * either tool works here and ours works there:
 *   - `--authfile` / $REGISTRY_AUTH_FILE when given (read and written),
 *   - Docker's ${DOCKER_CONFIG:-~/.docker}/config.json (written by default: Carton speaks Docker),
 *   - Podman's ${XDG_RUNTIME_DIR}/containers/auth.json and ~/.config/containers/auth.json (read).
 * Format: `{"auths": {"<registry>": {"auth": base64("user:pass")}}}`; other keys are kept.
 * Docker Hub is filed under `https://index.docker.io/v1/` as Docker files it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CartonError, nodeErrorReason } from '../common/errors';
import { DEFAULT_DOMAIN } from './reference';
import { Credentials, RegistryClient } from './registry/client';

const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export interface AuthFileOptions {
  /** `--authfile`: overrides every default location. */
  authFile?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [k: string]: unknown;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  [k: string]: unknown;
}

function home(): string {
  return process.env.HOME || os.homedir();
}

/** The file login writes to. */
export function defaultAuthFile(opts: AuthFileOptions = {}): string {
  if (opts.authFile) return opts.authFile;
  if (process.env.REGISTRY_AUTH_FILE) return process.env.REGISTRY_AUTH_FILE;
  const dockerDir = process.env.DOCKER_CONFIG || path.join(home(), '.docker');
  return path.join(dockerDir, 'config.json');
}

/** Files searched for credentials, in order. */
export function authFileCandidates(opts: AuthFileOptions = {}): string[] {
  if (opts.authFile) return [opts.authFile];
  const out: string[] = [];
  if (process.env.REGISTRY_AUTH_FILE) out.push(process.env.REGISTRY_AUTH_FILE);
  out.push(path.join(process.env.DOCKER_CONFIG || path.join(home(), '.docker'), 'config.json'));
  const runtimeDir = process.env.XDG_RUNTIME_DIR || (process.getuid?.() === 0 ? '/run/containers/0' : undefined);
  if (runtimeDir) {
    out.push(process.env.XDG_RUNTIME_DIR ? path.join(runtimeDir, 'containers', 'auth.json') : path.join(runtimeDir, 'auth.json'));
  }
  out.push(path.join(home(), '.config', 'containers', 'auth.json'));
  return [...new Set(out)];
}

/**
 * A registry as users type it for login (`docker.io`, `https://index.docker.io/v1/`,
 * `http://localhost:5000`, `quay.io`) → the registry domain used in references.
 */
export function normalizeRegistry(input: string | undefined): string {
  if (!input) return DEFAULT_DOMAIN;
  let s = input.trim().replace(/^[a-z]+:\/\//i, '');
  s = s.replace(/\/.*$/, '');
  s = s.toLowerCase();
  if (s === 'index.docker.io' || s === 'registry-1.docker.io' || s === 'registry.hub.docker.com') return DEFAULT_DOMAIN;
  return s;
}

function readAuthFile(file: string): AuthFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CartonError('EINVAL_CONFIG', `reading auth file ${file}: ${nodeErrorReason(err)}`, { cause: err });
  }
  if (text.trim() === '') return {};
  try {
    const parsed = JSON.parse(text) as AuthFile;
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch (err) {
    throw new CartonError('EINVAL_CONFIG', `auth file ${file} is not valid JSON`, { cause: err });
  }
}

function entryCredentials(e: AuthEntry): Credentials | undefined {
  if (typeof e.auth === 'string' && e.auth !== '') {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof e.username === 'string' && typeof e.password === 'string') return { username: e.username, password: e.password };
  return undefined;
}

/** An auths key without scheme and Docker's /v1/ suffix: `host[/namespace]`. */
function bareKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/v[12]\/?$/, '').replace(/\/$/, '');
}

/** Keys of `auths` that mean this registry (longest repository-path match first). */
function matchingKeys(auths: Record<string, AuthEntry>, domain: string, repoPath?: string): string[] {
  const hits: Array<{ key: string; rank: number }> = [];
  for (const key of Object.keys(auths)) {
    const bare = bareKey(key);
    const slash = bare.indexOf('/');
    const host = normalizeRegistry(slash === -1 ? bare : bare.slice(0, slash));
    const ns = slash === -1 ? '' : bare.slice(slash + 1);
    if (host !== domain) continue;
    if (ns && !(repoPath && (repoPath === ns || repoPath.startsWith(ns + '/')))) continue;
    hits.push({ key, rank: ns.length });
  }
  return hits.sort((a, b) => b.rank - a.rank).map((h) => h.key);
}

/** Credentials saved for a registry (and optionally a repository), or undefined. */
export function lookupCredentials(domain: string, opts: AuthFileOptions & { repository?: string } = {}): Credentials | undefined {
  const want = normalizeRegistry(domain);
  for (const file of authFileCandidates(opts)) {
    const data = readAuthFile(file);
    const auths = data?.auths;
    if (!auths) continue;
    for (const key of matchingKeys(auths, want, opts.repository)) {
      const c = entryCredentials(auths[key]);
      if (c) return c;
    }
  }
  return undefined;
}

function writeAuthFile(file: string, data: AuthFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.carton-${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(data, null, '\t') + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function keyFor(domain: string): string {
  return domain === DEFAULT_DOMAIN ? DOCKER_HUB_KEY : domain;
}

export interface LoginOptions extends AuthFileOptions {
  tlsVerify?: boolean;
  certDirs?: string[];
}

/**
 * Verify `username`/`password` against the registry, then save them. Throws (and saves
 * nothing) when the registry refuses them. Returns the file written.
 */
export async function login(registry: string | undefined, username: string, password: string, opts: LoginOptions = {}): Promise<string> {
  const domain = normalizeRegistry(registry);
  if (!username) throw new CartonError('EINVAL_CONFIG', 'login: username is empty', { exitCode: 125 });
  if (!password) throw new CartonError('EINVAL_CONFIG', 'login: password is empty', { exitCode: 125 });
  const client = new RegistryClient(domain, { tlsVerify: opts.tlsVerify, certDirs: opts.certDirs, credentials: { username, password } });
  await client.checkLogin();
  const file = defaultAuthFile(opts);
  const data = readAuthFile(file) ?? {};
  const auths = (data.auths ??= {});
  // One entry per registry: drop other spellings of the same host (not namespaced entries).
  for (const k of matchingKeys(auths, domain)) if (!bareKey(k).includes('/')) delete auths[k];
  auths[keyFor(domain)] = { auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
  writeAuthFile(file, data);
  return file;
}

/** Remove saved credentials for a registry from every auth file. Returns whether any were found. */
export function logout(registry: string | undefined, opts: AuthFileOptions = {}): boolean {
  const domain = normalizeRegistry(registry);
  let removed = false;
  for (const file of authFileCandidates(opts)) {
    const data = readAuthFile(file);
    if (!data?.auths) continue;
    const keys = Object.keys(data.auths).filter((k) => !bareKey(k).includes('/') && normalizeRegistry(bareKey(k)) === domain);
    if (keys.length === 0) continue;
    for (const k of keys) delete data.auths[k];
    writeAuthFile(file, data);
    removed = true;
  }
  return removed;
}
