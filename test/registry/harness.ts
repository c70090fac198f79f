/**
 * A real registry for integration tests: Debian's docker-registry (distribution 2.8) on a
 * free loopback port with a temporary storage directory and a generated config, with no
 * auth, htpasswd Basic auth, or token auth backed by the token server in token-server.ts.
 * stop() kills the process and deletes everything it made.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { TokenServer, startTokenServer } from './token-server';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'basic'; users: Record<string, string> }
  | { kind: 'token'; users: Record<string, string>; allowAnonymousPull?: boolean };

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
  port: number;
  /** The registry's storage root (tests tamper with blobs here). */
  storageDir: string;
  tokenServer?: TokenServer;
  /** The certificate the registry serves when started with tls. */
  caCertPath?: string;
  /** Path of a blob's data file inside the storage dir. */
  blobPath(digest: string): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function waitReady(port: number, proc: ChildProcess, log: () => string, tls: boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (proc.exitCode !== null) return reject(new Error(`docker-registry exited ${proc.exitCode}: ${log()}`));
      const get = tls ? https.get : http.get;
      const req = get({ host: '127.0.0.1', port, path: '/v2/', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve();
      });
      req.on('error', () => {
        if (Date.now() > deadline) reject(new Error(`docker-registry not ready on ${port}: ${log()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

function yamlQuote(s: string): string {
  return JSON.stringify(s);
}

export interface RegistryOptions {
  /** Serve HTTPS with a fresh self-signed certificate for 127.0.0.1 (path in caCertPath). */
  tls?: boolean;
}

/** Start a registry; call stop() in `after`. */
export async function startRegistry(auth: RegistryAuth = { kind: 'none' }, opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carton-test-registry-'));
  const storageDir = path.join(dir, 'storage');
  fs.mkdirSync(storageDir);
  const port = await freePort();
  let tokenServer: TokenServer | undefined;
  let authYaml = '';
  try {
    if (auth.kind === 'basic') {
      const htpasswd = path.join(dir, 'htpasswd');
      fs.writeFileSync(htpasswd, '');
      for (const [user, pass] of Object.entries(auth.users)) {
        // -b: password on the command line; -B: bcrypt, the only hash docker-registry accepts
        execFileSync('htpasswd', ['-bB', htpasswd, user, pass], { stdio: 'pipe' });
      }
      authYaml = `auth:\n  htpasswd:\n    realm: carton-test-realm\n    path: ${yamlQuote(htpasswd)}\n`;
    } else if (auth.kind === 'token') {
      tokenServer = await startTokenServer(dir, {
        users: auth.users,
        service: 'carton-test-registry',
        allowAnonymousPull: auth.allowAnonymousPull ?? false,
      });
      authYaml =
        'auth:\n  token:\n' +
        `    realm: ${yamlQuote(tokenServer.realm)}\n` +
        `    service: carton-test-registry\n` +
        `    issuer: ${yamlQuote(tokenServer.issuer)}\n` +
        `    rootcertbundle: ${yamlQuote(tokenServer.certPath)}\n`;
    }
    let tlsYaml = '';
    let caCertPath: string | undefined;
    if (opts.tls) {
      caCertPath = path.join(dir, 'registry-cert.pem');
      const keyPath = path.join(dir, 'registry-key.pem');
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', caCertPath, '-days', '2',
        '-subj', '/CN=carton-test-registry', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ], { stdio: 'pipe' });
      tlsYaml = `  tls:\n    certificate: ${yamlQuote(caCertPath)}\n    key: ${yamlQuote(keyPath)}\n`;
    }
    const config =
      'version: 0.1\n' +
      'log:\n  level: error\n  accesslog:\n    disabled: true\n' +
      `storage:\n  filesystem:\n    rootdirectory: ${yamlQuote(storageDir)}\n  delete:\n    enabled: true\n` +
      `http:\n  addr: 127.0.0.1:${port}\n  secret: carton-test-secret\n` +
      tlsYaml +
      authYaml;
    const configPath = path.join(dir, 'config.yml');
    fs.writeFileSync(configPath, config);
    let output = '';
    const proc = spawn(REGISTRY_BIN, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (output = (output + d).slice(-4000)));
    proc.stderr!.on('data', (d) => (output = (output + d).slice(-4000)));
    // Should the test process end without calling stop() (a crash, a forgotten after()),
    // take the registry and its files down with it.
    const onExit = (): void => {
      proc.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    };
    process.once('exit', onExit);
    try {
      await waitReady(port, proc, () => output, opts.tls === true);
    } catch (err) {
      process.removeListener('exit', onExit);
      proc.kill('SIGKILL');
      throw err;
    }
    const stop = async (): Promise<void> => {
      process.removeListener('exit', onExit);
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      await tokenServer?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
    return {
      host: `127.0.0.1:${port}`,
      port,
      storageDir,
      tokenServer,
      caCertPath,
      blobPath: (digest: string) => {
        const hex = digest.replace(/^sha256:/, '');
        return path.join(storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
      },
      stop,
    };
  } catch (err) {
    await tokenServer?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
