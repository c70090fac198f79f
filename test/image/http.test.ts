/**
 * The HTTP layer's promises, against tiny loopback servers: which failures are retried
 * (connection resets, 5xx, 429 with Retry-After) and which are not (4xx), and that a
 * redirect to another origin drops the Authorization header while a same-origin one keeps it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'http';
import * as net from 'net';
import { readAll, send, sendWithRetry } from '../../src/image/registry/http';
import { resumableStream } from '../../src/image/registry/resumable';

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
}

const FAST = { attempts: 4, baseDelayMs: 5, maxDelayMs: 50 };

test('5xx and 429 are retried; the last answer is returned', async () => {
  let n = 0;
  const base = await serve((_req, res) => {
    n++;
    if (n === 1) return void res.writeHead(503).end();
    if (n === 2) return void res.writeHead(429, { 'retry-after': '0' }).end();
    res.writeHead(200).end('ok');
  });
  const res = await sendWithRetry({ method: 'GET', url: new URL(base) }, FAST);
  assert.equal(res.status, 200);
  assert.equal((await readAll(res)).toString(), 'ok');
  assert.equal(n, 3);

  let m = 0;
  const always = await serve((_req, res) => void (m++, res.writeHead(502).end()));
  assert.equal((await sendWithRetry({ method: 'GET', url: new URL(always) }, FAST)).status, 502);
  assert.equal(m, 4);
});

test('4xx and 501 are answers, not retried', async () => {
  for (const status of [400, 401, 403, 404, 501]) {
    let n = 0;
    const base = await serve((_req, res) => void (n++, res.writeHead(status).end()));
    assert.equal((await sendWithRetry({ method: 'GET', url: new URL(base) }, FAST)).status, status);
    assert.equal(n, 1, `HTTP ${status}`);
  }
});

test('a reset connection is retried', async () => {
  let n = 0;
  const base = await serve((req, res) => {
    n++;
    if (n < 3) return void req.socket.destroy();
    res.writeHead(200).end();
  });
  assert.equal((await sendWithRetry({ method: 'GET', url: new URL(base) }, FAST)).status, 200);
  assert.equal(n, 3);
});

test('redirects: Authorization kept on the same origin, dropped for another', async () => {
  const seen: Array<{ where: string; auth?: string }> = [];
  const other = await serve((req, res) => {
    seen.push({ where: 'other', auth: req.headers.authorization });
    res.writeHead(200).end('blob');
  });
  const origin = await serve((req, res) => {
    seen.push({ where: req.url ?? '', auth: req.headers.authorization });
    if (req.url === '/a') return void res.writeHead(307, { location: '/b' }).end();
    if (req.url === '/b') return void res.writeHead(302, { location: `${other.replace('127.0.0.1', 'localhost')}/blob` }).end();
    res.writeHead(500).end();
  });
  const res = await send({ method: 'GET', url: new URL(`${origin}/a`), headers: { authorization: 'Bearer secret' } });
  assert.equal((await readAll(res)).toString(), 'blob');
  assert.deepEqual(seen, [
    { where: '/a', auth: 'Bearer secret' },
    { where: '/b', auth: 'Bearer secret' },
    { where: 'other', auth: undefined },
  ]);
});

test('a redirect loop ends with a clear error', async () => {
  const base = await serve((_req, res) => void res.writeHead(302, { location: '/again' }).end());
  await assert.rejects(send({ method: 'GET', url: new URL(base), maxRedirects: 3 }), { code: 'EREGISTRY', message: /more than 3 redirects/ });
});

test('a resumed download skips what it already has when the server ignores Range', async () => {
  const body = Buffer.alloc(1 << 20);
  for (let i = 0; i < body.length; i++) body[i] = i % 251;
  let n = 0;
  const ranges: Array<string | undefined> = [];
  const base = await serve((req, res) => {
    n++;
    ranges.push(req.headers.range);
    res.writeHead(200, { 'content-length': String(body.length) });
    if (n === 1) {
      res.write(body.subarray(0, 300_000), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  });
  const stream = resumableStream(
    {
      open: async (offset) => {
        const r = await send({ method: 'GET', url: new URL(base), headers: offset ? { range: `bytes=${offset}-` } : {} });
        return { stream: r.body, skip: r.status === 200 ? offset : 0 };
      },
    },
    { label: 'blob test', attempts: 3, baseDelayMs: 1 },
  );
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  assert.ok(Buffer.concat(chunks).equals(body));
  assert.equal(n, 2);
  assert.equal(ranges[0], undefined);
  assert.match(String(ranges[1]), /^bytes=\d+-$/);
});
