/**
 * Registry HTTP API v2 client for one registry host: ping, manifests, blobs (download,
 * existence, upload, cross-repository mount). Authorization lives in AuthSession, the
 * wire in http.ts; this file speaks the API.
 *
 * Who verifies what: manifests and configs are small and verified here, in memory.
 * Layer blobs are streamed straight into the store, whose ingest() hashes and counts
 * while writing (the single hash over those bytes); here only Content-Length is checked
 * against the descriptor, so a lying registry is refused before a byte is written.
 *
 * Transport: HTTPS with certificate checks by default. Loopback registries (and any with
 * tlsVerify false) try HTTPS without checks first and fall back to plain HTTP, as Docker
 * does for insecure registries.
 */
import { createHash } from 'crypto';
import type { Readable } from 'stream';
import { CartonError } from '../../common/errors';
import { MEDIA } from '../../storage/image-types';
import { isLoopbackRegistry, registryApiHost } from '../reference';
import { AuthSession, Credentials } from './auth-session';
import { parseChallenges } from './challenge';
import { errorFromResponse } from './errors';
import { loadRegistryCerts } from './certs';
import { DEFAULT_RETRY, HttpResponse, RetryPolicy, TlsMaterial, drain, readAll, sendWithRetry } from './http';

export type { Credentials } from './auth-session';

export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest];
const MANIFEST_LIMIT = 4 * 1024 * 1024;
const USER_AGENT = 'carton/0.1';

export interface RegistryClientOptions {
  /**
   * false: accept any certificate and allow plain HTTP (`--tls-verify=false`).
   * true: require verified HTTPS even for a loopback registry.
   * Unset: verified HTTPS, except loopback registries (insecure, as Docker treats them).
   */
  tlsVerify?: boolean;
  /** certs.d directories (`--cert-dir`); default /etc/containers/certs.d, /etc/docker/certs.d. */
  certDirs?: string[];
  credentials?: Credentials;
  retry?: RetryPolicy;
  timeoutMs?: number;
  onRetry?: (what: string, attempt: number, reason: string) => void;
}

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  bytes: Buffer;
  json: Record<string, unknown>;
}

export function sha256(data: Buffer): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}
function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}

export class RegistryClient {
  readonly apiHost: string;
  private readonly insecure: boolean;
  private readonly auth: AuthSession;
  private readonly retry: RetryPolicy;
  private readonly tls: TlsMaterial | undefined;
  private base: URL | undefined;
  private pinging: Promise<void> | undefined;

  constructor(readonly domain: string, private readonly opts: RegistryClientOptions = {}) {
    this.apiHost = registryApiHost(domain);
    this.insecure = opts.tlsVerify === false || (opts.tlsVerify === undefined && isLoopbackRegistry(domain));
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.tls = loadRegistryCerts(this.apiHost, opts.certDirs);
    this.auth = new AuthSession(opts.credentials, this.insecure, this.retry);
  }

  /** `GET /v2/`: pick the scheme and learn the authentication challenge. */
  ping(): Promise<void> {
    this.pinging ??= this.doPing().catch((err) => {
      this.pinging = undefined;
      throw err;
    });
    return this.pinging;
  }

  private async doPing(): Promise<void> {
    const schemes = this.insecure ? ['https:', 'http:'] : ['https:'];
    let lastErr: unknown;
    for (const scheme of schemes) {
      const url = new URL(`${scheme}//${this.apiHost}/v2/`);
      let res: HttpResponse;
      try {
        res = await sendWithRetry(this.httpReq('GET', url, { 'user-agent': USER_AGENT }), this.retry);
      } catch (err) {
        lastErr = err;
        continue;
      }
      drain(res);
      if (res.status === 200 || res.status === 401) {
        this.base = new URL(`${scheme}//${this.apiHost}`);
        const ch = res.status === 401 ? parseChallenges(res.headers['www-authenticate'])[0] : undefined;
        this.auth.setChallenge(ch);
        return;
      }
      lastErr = new Error(`HTTP ${res.status} from ${url.href}`);
    }
    const e = lastErr as NodeJS.ErrnoException;
    const tlsProblem = typeof e?.code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|VERIFY|ISSUER|EPROTO/.test(e.code);
    throw new CartonError('EREGISTRY', `pinging registry ${this.domain}: ${e?.message ?? String(lastErr)}`, {
      cause: lastErr,
      hint: tlsProblem && !this.insecure
        ? `trust its CA in /etc/containers/certs.d/${this.apiHost}/ca.crt, or use --tls-verify=false`
        : undefined,
    });
  }

  /** Verify credentials (for login): the registry must accept them for a plain /v2/ request. */
  async checkLogin(): Promise<void> {
    await this.ping();
    const res = await this.request('GET', '/v2/', [], {});
    if (res.status !== 200) throw await errorFromResponse(res, { subject: `registry ${this.domain}`, ...this.credState() });
    drain(res);
  }

  /** Whether credentials were sent, and whether they went straight to the registry (Basic). */
  private credState(): { hadCredentials: boolean; basic: boolean } {
    return { hadCredentials: this.auth.hasCredentials, basic: this.auth.scheme === 'basic' };
  }

  private httpReq(method: string, url: URL, headers: Record<string, string>, body?: Buffer | (() => Readable)) {
    return { method, url, headers, body, insecureTls: this.insecure, tls: this.tls, timeoutMs: this.opts.timeoutMs };
  }

  /** One authorized request; a 401 refreshes the challenge/token once and retries. */
  private async request(
    method: string,
    pathOrUrl: string | URL,
    scopes: string[],
    headers: Record<string, string>,
    body?: Buffer | (() => Readable),
  ): Promise<HttpResponse> {
    await this.ping();
    const url = typeof pathOrUrl === 'string' ? new URL(pathOrUrl, this.base) : pathOrUrl;
    const withAuth = async (): Promise<Record<string, string>> => {
      const h: Record<string, string> = { ...headers, 'user-agent': USER_AGENT };
      // Never hand this registry's credentials to another host (an upload Location may point elsewhere).
      if (url.host === this.base!.host) {
        const a = await this.auth.header(scopes);
        if (a) h.authorization = a;
      }
      return h;
    };
    let res = await sendWithRetry(this.httpReq(method, url, await withAuth(), body), this.retry, (n, why) =>
      this.opts.onRetry?.(`${method} ${url.pathname}`, n, why),
    );
    if (res.status === 401) {
      const ch = parseChallenges(res.headers['www-authenticate'])[0];
      if (ch) {
        drain(res);
        this.auth.setChallenge(ch);
        this.auth.invalidate(scopes);
        res = await sendWithRetry(this.httpReq(method, url, await withAuth(), body), this.retry);
      }
    }
    return res;
  }

  private subjectOf(repo: string, reference: string): string {
    const sep = reference.includes(':') ? '@' : ':';
    return `image "${this.domain}/${repo}${sep}${reference}"`;
  }

  /** Fetch a manifest or index by tag or digest; verified against the digest when pinned. */
  async getManifest(repo: string, reference: string, subject?: string): Promise<FetchedManifest> {
    const what = subject ?? this.subjectOf(repo, reference);
    const res = await this.request('GET', `/v2/${repo}/manifests/${reference}`, [pullScope(repo)], {
      accept: MANIFEST_ACCEPT.join(', '),
    });
    if (res.status !== 200) throw await errorFromResponse(res, { subject: what, ...this.credState() });
    const bytes = await readAll(res, MANIFEST_LIMIT);
    const digest = sha256(bytes);
    if (reference.includes(':') && reference !== digest) {
      throw new CartonError('EDIGEST', `manifest for ${what}: digest mismatch: got ${digest}`);
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new CartonError('EREGISTRY', `manifest for ${what} is not valid JSON`);
    }
    const mediaType = manifestMediaType(res.headers['content-type'], json, what);
    return { mediaType, digest, bytes, json };
  }

  /**
   * Start downloading a blob, from byte `offset` when resuming (`Range`); the caller
   * streams it into the store (which verifies it). `skip` tells how many leading bytes
   * the caller must drop: a server that ignores Range answers 200 with the whole blob.
   */
  async openBlob(
    repo: string,
    digest: string,
    expectedSize?: number,
    offset = 0,
  ): Promise<{ stream: Readable; size?: number; skip: number }> {
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const res = await this.request('GET', `/v2/${repo}/blobs/${digest}`, [pullScope(repo)], headers);
    const partial = offset > 0 && res.status === 206;
    if (res.status !== 200 && !partial) {
      throw await errorFromResponse(res, { subject: `blob ${digest} in ${this.domain}/${repo}`, ...this.credState() });
    }
    const where = `blob ${digest} from ${this.domain}/${repo}`;
    if (partial) {
      const m = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
      if (!m || Number(m[1]) !== offset) {
        res.body.destroy();
        throw new CartonError('EREGISTRY', `${where}: asked to resume at byte ${offset}, got range ${res.headers['content-range'] ?? '(none)'}`);
      }
    }
    const len = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
    const want = expectedSize !== undefined && expectedSize >= 0 ? (partial ? expectedSize - offset : expectedSize) : undefined;
    if (len !== undefined && want !== undefined && len !== want) {
      res.body.destroy();
      throw new CartonError('EDIGEST', `${where}: size mismatch: registry sends ${len} bytes, manifest says ${want}`);
    }
    return { stream: res.body, size: len, skip: partial ? 0 : offset };
  }

  /** Fetch a small blob (an image config) into memory, verified. */
  async getBlobBytes(repo: string, digest: string, size: number): Promise<Buffer> {
    const { stream } = await this.openBlob(repo, digest, size);
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of stream as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > MANIFEST_LIMIT) throw new CartonError('EDIGEST', `blob ${digest}: larger than ${MANIFEST_LIMIT} bytes`);
      chunks.push(c);
    }
    const bytes = Buffer.concat(chunks);
    const got = sha256(bytes);
    if (got !== digest) throw new CartonError('EDIGEST', `blob ${digest} from ${this.domain}/${repo}: digest mismatch: got ${got}`);
    return bytes;
  }

  /** HEAD a blob: does the repository already have it? */
  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, [pushScope(repo)], {});
    drain(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await errorFromResponse(res, { subject: `blob ${digest} in ${this.domain}/${repo}`, ...this.credState() });
  }

  /** Try a cross-repository mount; true when the registry linked the blob without an upload. */
  async mountBlob(repo: string, digest: string, fromRepo: string): Promise<boolean> {
    await this.ping(); // the URL needs the scheme ping() settles
    const url = new URL(`/v2/${repo}/blobs/uploads/`, this.base);
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', fromRepo);
    const res = await this.request('POST', url, [pushScope(repo), pullScope(fromRepo)], {}, Buffer.alloc(0));
    drain(res);
    if (res.status === 201) return true;
    if (res.status === 202) {
      // An upload session was opened instead; cancel it so it does not linger.
      const loc = res.headers.location;
      if (loc) drain(await this.request('DELETE', new URL(loc, this.base), [pushScope(repo)], {}));
      return false;
    }
    return false;
  }

  /**
   * Upload a blob: POST a session, then either one PUT with the whole body, or PATCH
   * chunks of `chunkSize` followed by a closing PUT ?digest=.
   */
  async uploadBlob(
    repo: string,
    blob: { digest: string; size: number },
    open: (start?: number, end?: number) => Readable,
    opts: { chunkSize?: number } = {},
  ): Promise<void> {
    const subject = `blob ${blob.digest} to ${this.domain}/${repo}`;
    const ctx = { subject, ...this.credState() };
    const start = await this.request('POST', `/v2/${repo}/blobs/uploads/`, [pushScope(repo)], {}, Buffer.alloc(0));
    if (start.status !== 202 || !start.headers.location) throw await errorFromResponse(start, ctx);
    drain(start);
    let location = new URL(start.headers.location, this.base);
    const chunk = opts.chunkSize && opts.chunkSize > 0 && blob.size > opts.chunkSize ? opts.chunkSize : 0;
    if (chunk) {
      for (let off = 0; off < blob.size; off += chunk) {
        const end = Math.min(blob.size, off + chunk) - 1;
        const res = await this.request('PATCH', location, [pushScope(repo)], {
          'content-type': 'application/octet-stream',
          'content-range': `${off}-${end}`,
          'content-length': String(end - off + 1),
        }, () => open(off, end));
        if (res.status !== 202 || !res.headers.location) throw await errorFromResponse(res, ctx);
        drain(res);
        location = new URL(res.headers.location, this.base);
      }
    }
    location.searchParams.set('digest', blob.digest);
    const res = chunk
      ? await this.request('PUT', location, [pushScope(repo)], {}, Buffer.alloc(0))
      : await this.request('PUT', location, [pushScope(repo)], {
          'content-type': 'application/octet-stream',
          'content-length': String(blob.size),
        }, () => open());
    if (res.status !== 201) throw await errorFromResponse(res, ctx);
    drain(res);
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry computed. */
  async putManifest(repo: string, reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    const res = await this.request('PUT', `/v2/${repo}/manifests/${reference}`, [pushScope(repo)], {
      'content-type': mediaType,
    }, bytes);
    if (res.status !== 201 && res.status !== 200) {
      throw await errorFromResponse(res, { subject: `manifest ${this.domain}/${repo}:${reference}`, ...this.credState() });
    }
    drain(res);
    const digest = sha256(bytes);
    const said = res.headers['docker-content-digest'];
    if (typeof said === 'string' && said !== digest) {
      throw new CartonError('EDIGEST', `registry stored manifest ${this.domain}/${repo}:${reference} as ${said}, expected ${digest}`);
    }
    return digest;
  }
}

/** The manifest's media type from Content-Type, or sniffed from the JSON when the server is vague. */
export function manifestMediaType(contentType: string | undefined, json: Record<string, unknown>, what: string): string {
  const ct = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if ((MANIFEST_ACCEPT as string[]).includes(ct)) return ct;
  if (typeof json.mediaType === 'string' && (MANIFEST_ACCEPT as string[]).includes(json.mediaType)) return json.mediaType;
  if (json.schemaVersion === 1 || ct.includes('v1+')) {
    throw new CartonError('EUNSUPPORTED', `${what} uses the Docker schema 1 manifest format, which Carton does not pull`);
  }
  if (Array.isArray(json.manifests)) return MEDIA.ociIndex;
  if (json.config && Array.isArray(json.layers)) return MEDIA.ociManifest;
  throw new CartonError('EREGISTRY', `${what}: unrecognised manifest type "${ct}"`);
}
