/**
 * A scriptable HTTP proxy in front of a test registry, for the failures a real registry
 * will not produce on demand: connections cut mid-body, 503s, redirects to another host.
 * Every request is recorded (method, path, headers) so tests can check what was sent
 * where — e.g. that no Authorization header reached the redirect target.
 */
import * as http from 'http';
import * as net from 'net';

export type ProxyAction =
  | { kind: 'pass' }
  /** Answer with this status (and an optional body) instead of forwarding. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Forward, but destroy the client connection after this many body bytes. */
  | { kind: 'cut'; afterBytes: number }
  /** Forward this many body bytes, then hang with the connection open (a stalled download). */
  | { kind: 'stall'; afterBytes: number }
  /** Answer with a redirect to `location`. */
  | { kind: 'redirect'; status?: number; location: string };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface TestProxy {
  host: string;
  port: number;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

export interface ProxyOptions {
  upstreamPort: number;
  /** Decide per request; `n` counts earlier requests with the same method and path. */
  decide?: (req: RecordedRequest, n: number) => ProxyAction;
  /** Authorization to send upstream regardless of what the client sent (a "signed URL"). */
  upstreamAuthorization?: string;
}

export async function startProxy(opts: ProxyOptions): Promise<TestProxy> {
  const requests: RecordedRequest[] = [];
  const seen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const rec: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
    requests.push(rec);
    const key = `${rec.method} ${rec.path.split('?')[0]}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    const action = opts.decide?.(rec, n) ?? { kind: 'pass' };
    if (action.kind === 'status') {
      req.resume();
      res.writeHead(action.status, action.headers ?? {});
      res.end(action.body ?? '');
      return;
    }
    if (action.kind === 'redirect') {
      req.resume();
      res.writeHead(action.status ?? 307, { location: action.location });
      res.end();
      return;
    }
    const headers = { ...req.headers, host: `127.0.0.1:${opts.upstreamPort}` };
    if (opts.upstreamAuthorization) headers.authorization = opts.upstreamAuthorization;
    const up = http.request(
      { host: '127.0.0.1', port: opts.upstreamPort, method: req.method, path: req.url, headers },
      (upRes) => {
        const h = { ...upRes.headers };
        // Keep upload Locations pointing at the proxy.
        if (typeof h.location === 'string') h.location = h.location.replace(`127.0.0.1:${opts.upstreamPort}`, `127.0.0.1:${port}`);
        res.writeHead(upRes.statusCode ?? 502, h);
        if (action.kind === 'cut' || action.kind === 'stall') {
          let sent = 0;
          upRes.on('data', (chunk: Buffer) => {
            if (sent >= action.afterBytes) return;
            const room = action.afterBytes - sent;
            res.write(room >= chunk.length ? chunk : chunk.subarray(0, room));
            sent += Math.min(room, chunk.length);
            if (sent >= action.afterBytes) {
              upRes.destroy();
              if (action.kind === 'cut') res.socket?.destroy();
            }
          });
          upRes.on('end', () => {
            if (sent < action.afterBytes) res.end();
          });
        } else {
          upRes.pipe(res);
        }
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    port,
    requests,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
