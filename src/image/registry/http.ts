/**
 * The HTTP layer under the registry client: one request on node:http/https with
 * redirects followed and transient failures retried. No registry semantics here.
 *
 * Redirects: registries send blob GETs to object storage (S3, a CDN) with a signed URL;
 * the registry's Authorization header must never travel there, so it is dropped as soon
 * as a redirect leaves the original host:port.
 *
 * Retries: connection-level failures (reset, refused, timeout), 5xx (but 501) and 429
 * are retried with exponential backoff (honouring Retry-After); other 4xx never are —
 * they are answers, not accidents.
 */
import * as http from 'http';
import * as https from 'https';
import type { Readable } from 'stream';
import * as tls from 'tls';
import { CartonError } from '../../common/errors';

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16 });
// Verifying nothing, it needs no CA store: an explicit empty list spares loading the ~150
// system roots (tens of ms of CPU) on the HTTPS probe of every loopback pull.
const insecureHttpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false, ca: [] });

/** Extra TLS material for one registry (from certs.d): CAs to trust, a client certificate. */
export interface TlsMaterial {
  /** Identifies the material (the directory it came from), to share one agent per registry. */
  key: string;
  ca?: Buffer[];
  cert?: Buffer;
  privateKey?: Buffer;
}

const customAgents = new Map<string, https.Agent>();

function agentFor(material: TlsMaterial, insecure: boolean): https.Agent {
  const k = `${insecure ? 'insecure' : 'verify'}:${material.key}`;
  let a = customAgents.get(k);
  if (!a) {
    // Added CAs extend the system's roots rather than replacing them.
    const ca = material.ca?.length ? [...tls.rootCertificates, ...material.ca.map((b) => b.toString('utf8'))] : undefined;
    a = new https.Agent({
      keepAlive: true, maxSockets: 16, rejectUnauthorized: !insecure, ca, cert: material.cert, key: material.privateKey,
    });
    customAgents.set(k, a);
  }
  return a;
}

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A buffer, or a factory so a retry can replay a streamed body. */
  body?: Buffer | (() => Readable);
  /** Accept any TLS certificate (`--tls-verify=false`). */
  insecureTls?: boolean;
  /** CAs / client certificate for this registry. */
  tls?: TlsMaterial;
  /** Idle-socket timeout (no bytes for this long fails the request). */
  timeoutMs?: number;
  maxRedirects?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The URL that finally answered (after redirects). */
  url: URL;
  body: http.IncomingMessage;
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 5000 };

const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENETDOWN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'ESOCKETTIMEDOUT',
]);

/** Whether a thrown error is a connection accident worth retrying. */
export function isTransientError(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException & { transient?: boolean };
  if (!e) return false;
  if (e.transient === true) return true;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  return /socket hang up|aborted/i.test(String(e.message));
}

/** Whether an HTTP status is worth retrying. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.host === b.host;
}

function once(req: HttpRequest, url: URL, headers: Record<string, string>): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const mod = isHttps ? https : http;
    const agent = !isHttps
      ? httpAgent
      : req.tls
        ? agentFor(req.tls, req.insecureTls === true)
        : req.insecureTls
          ? insecureHttpsAgent
          : httpsAgent;
    const bodyBuf = Buffer.isBuffer(req.body) ? req.body : undefined;
    const h: Record<string, string> = { ...headers };
    if (bodyBuf) h['content-length'] = String(bodyBuf.length);
    const r = mod.request(url, { method: req.method, headers: h, agent }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url, body: res });
    });
    r.on('error', reject);
    const timeout = req.timeoutMs ?? 60_000;
    r.setTimeout(timeout, () => {
      const e = new Error(`no response for ${timeout / 1000}s`) as NodeJS.ErrnoException;
      e.code = 'ETIMEDOUT';
      r.destroy(e);
    });
    if (bodyBuf) r.end(bodyBuf);
    else if (typeof req.body === 'function') {
      const src = req.body();
      src.on('error', (e) => r.destroy(e));
      src.pipe(r);
    } else r.end();
  });
}

/** Discard a response body so its socket goes back to the pool. */
export function drain(res: HttpResponse): void {
  res.body.resume();
}

/** Read a whole (small) response body, failing beyond `limit` bytes. */
export async function readAll(res: HttpResponse, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) {
      res.body.destroy();
      throw new CartonError('EREGISTRY', `${res.url.href}: response larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** One request with redirects followed (credentials dropped when leaving the origin). */
export async function send(req: HttpRequest): Promise<HttpResponse> {
  let url = req.url;
  let headers = { ...(req.headers ?? {}) };
  let method = req.method;
  let material = req.tls;
  const max = req.maxRedirects ?? 10;
  for (let hop = 0; ; hop++) {
    const res = await once({ ...req, method, tls: material }, url, headers);
    const loc = res.headers.location;
    const redirect = [301, 302, 303, 307, 308].includes(res.status) && loc !== undefined;
    // Only GET/HEAD follow: an upload's Location is an answer, not a redirect.
    if (!redirect || (method !== 'GET' && method !== 'HEAD')) return res;
    drain(res);
    if (hop >= max) throw new CartonError('EREGISTRY', `${req.url.href}: more than ${max} redirects`);
    const next = new URL(loc, url);
    if (!sameOrigin(next, req.url)) {
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      material = undefined; // the registry's client certificate is not for other hosts either
    }
    if (res.status === 303) method = 'GET';
    url = next;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function retryAfterMs(res: HttpResponse): number | undefined {
  const v = res.headers['retry-after'];
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return secs * 1000;
  const when = Date.parse(v);
  return Number.isFinite(when) ? Math.max(0, when - Date.now()) : undefined;
}

/**
 * `send` with retries. Returns the last response when its status stays transient
 * (the caller turns it into an error with the registry's own message).
 */
export async function sendWithRetry(
  req: HttpRequest,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (attempt: number, reason: string) => void,
): Promise<HttpResponse> {
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= policy.attempts;
    const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    try {
      const res = await send(req);
      if (last || !isTransientStatus(res.status)) return res;
      drain(res);
      onRetry?.(attempt, `HTTP ${res.status}`);
      await sleep(Math.min(policy.maxDelayMs, retryAfterMs(res) ?? backoff));
    } catch (err) {
      if (last || !isTransientError(err)) throw err;
      onRetry?.(attempt, (err as Error).message);
      await sleep(backoff);
    }
  }
}
