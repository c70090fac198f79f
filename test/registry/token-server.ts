/**
 * A tiny token server for docker-registry's `auth: token` mode: it checks Basic
 * credentials, grants the requested repository scopes, and signs an RS256 JWT whose
 * `x5c` header carries a self-signed certificate the registry trusts through its
 * rootcertbundle. It counts requests so tests can check token caching.
 */
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';

export interface TokenServerOptions {
  users: Record<string, string>;
  service: string;
  /** Grant pull to anonymous requests (like a public repository). */
  allowAnonymousPull: boolean;
}

export interface TokenServer {
  realm: string;
  issuer: string;
  certPath: string;
  /** Every request seen: who asked for what, and whether it was granted. */
  requests: Array<{ user?: string; scopes: string[]; status: number }>;
  stop(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',') };
}

export async function startTokenServer(dir: string, opts: TokenServerOptions): Promise<TokenServer> {
  const keyPath = path.join(dir, 'token-key.pem');
  const certPath = path.join(dir, 'token-cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath,
    '-days', '2', '-subj', '/CN=carton-test-token-issuer',
  ], { stdio: 'pipe' });
  const key = crypto.createPrivateKey(fs.readFileSync(keyPath));
  const certDer = new crypto.X509Certificate(fs.readFileSync(certPath)).raw;
  const issuer = 'carton-test-issuer';
  const requests: TokenServer['requests'] = [];

  const sign = (sub: string, access: Access[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer, sub, aud: opts.service, exp: now + 300, nbf: now - 10, iat: now,
      jti: crypto.randomBytes(8).toString('hex'), access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(crypto.sign('sha256', Buffer.from(input), key))}`;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [u, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      if (opts.users[u] === undefined || opts.users[u] !== rest.join(':')) {
        requests.push({ user: u, scopes, status: 401 });
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      user = u;
    }
    const granted: Access[] = [];
    for (const s of scopes) {
      const a = parseScope(s);
      if (!a || a.type !== 'repository') continue;
      const actions = user ? a.actions : opts.allowAnonymousPull ? a.actions.filter((x) => x === 'pull') : [];
      if (actions.length) granted.push({ ...a, actions });
    }
    requests.push({ user, scopes, status: 200 });
    const token = sign(user ?? '', granted);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    issuer,
    certPath,
    requests,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
