/**
 * Authorization for one registry: the challenge from `GET /v2/`, then per scope either
 * a Bearer token from the challenge's realm (anonymous, or with Basic credentials sent
 * to the realm) or the Basic credentials themselves. Tokens are cached per scope set
 * until shortly before they expire, so a pull asks the token server once.
 */
import { CartonError } from '../../common/errors';
import type { Challenge } from './challenge';
import { readAll, sendWithRetry, RetryPolicy, drain } from './http';

export interface Credentials {
  username: string;
  password: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

const MIN_TOKEN_LIFETIME_S = 60;
const REFRESH_MARGIN_MS = 10_000;

export function basicHeader(c: Credentials): string {
  return 'Basic ' + Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64');
}

export class AuthSession {
  private challenge: Challenge | undefined;
  private tokens = new Map<string, CachedToken>();

  constructor(
    private readonly credentials: Credentials | undefined,
    private readonly insecureTls: boolean,
    private readonly retry: RetryPolicy,
  ) {}

  get hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  /** Record the challenge a 401 carried (undefined when the registry is open). */
  setChallenge(ch: Challenge | undefined): void {
    if (ch?.scheme !== this.challenge?.scheme || ch?.params.realm !== this.challenge?.params.realm) {
      this.tokens.clear();
    }
    this.challenge = ch;
  }

  get scheme(): string | undefined {
    return this.challenge?.scheme;
  }

  /** Forget a cached token (it was refused). */
  invalidate(scopes: string[]): void {
    this.tokens.delete(scopes.join(' '));
  }

  /** The Authorization header value for a request needing `scopes`, if any. */
  async header(scopes: string[]): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') return this.credentials ? basicHeader(this.credentials) : undefined;
    if (ch.scheme !== 'bearer') {
      throw new CartonError('EUNSUPPORTED', `registry asks for unsupported authentication scheme "${ch.scheme}"`);
    }
    const key = scopes.join(' ');
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt - REFRESH_MARGIN_MS > Date.now()) return `Bearer ${cached.token}`;
    const fresh = await this.fetchToken(ch, scopes);
    this.tokens.set(key, fresh);
    return `Bearer ${fresh.token}`;
  }

  private async fetchToken(ch: Challenge, scopes: string[]): Promise<CachedToken> {
    const realm = ch.params.realm;
    if (!realm) throw new CartonError('EREGISTRY', 'registry sent a Bearer challenge without a realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new CartonError('EREGISTRY', `registry sent an invalid token realm ${JSON.stringify(realm)}`);
    }
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    if (this.credentials) url.searchParams.set('account', this.credentials.username);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.credentials) headers.authorization = basicHeader(this.credentials);
    let res;
    try {
      res = await sendWithRetry({ method: 'GET', url, headers, insecureTls: this.insecureTls }, this.retry);
    } catch (err) {
      throw new CartonError('EREGISTRY', `getting a token from ${url.origin}${url.pathname}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (res.status === 401 || res.status === 403) {
      drain(res);
      throw this.credentials
        ? new CartonError('EREGISTRY', 'unauthorized: incorrect username or password', {
            hint: 'check the user name and password given to carton login',
          })
        : new CartonError('EREGISTRY', 'unauthorized: authentication required', { hint: 'log in with carton login' });
    }
    if (res.status !== 200) {
      drain(res);
      throw new CartonError('EREGISTRY', `token server ${url.origin}${url.pathname} answered HTTP ${res.status}`);
    }
    let body: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      body = JSON.parse((await readAll(res, 1024 * 1024)).toString('utf8'));
    } catch {
      throw new CartonError('EREGISTRY', `token server ${url.origin}${url.pathname} sent a reply that is not JSON`);
    }
    const token = body.token || body.access_token;
    if (!token) throw new CartonError('EREGISTRY', `token server ${url.origin}${url.pathname} sent no token`);
    const lifetime = Math.max(MIN_TOKEN_LIFETIME_S, Number(body.expires_in) || 0);
    const issued = body.issued_at ? Date.parse(body.issued_at) : NaN;
    const start = Number.isFinite(issued) && issued <= Date.now() ? issued : Date.now();
    return { token, expiresAt: start + lifetime * 1000 };
  }
}
