/**
 * Per-registry TLS material from a certs.d directory, laid out as Docker and Podman
 * read it: <dir>/<host[:port]>/*.crt are extra CAs, and a *.cert with the *.key of the
 * same base name is a client certificate.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError, nodeErrorReason } from '../../common/errors';
import type { TlsMaterial } from './http';

/** Where certs.d directories are looked for (`--cert-dir` replaces the list). */
export const DEFAULT_CERT_DIRS = ['/etc/containers/certs.d', '/etc/docker/certs.d'];

/** TLS material for `host` (host[:port]) from the first cert dir that has it, if any. */
export function loadRegistryCerts(host: string, certDirs: string[] = DEFAULT_CERT_DIRS): TlsMaterial | undefined {
  for (const base of certDirs) {
    const dir = path.join(base, host);
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      continue;
    }
    const read = (n: string): Buffer => {
      try {
        return fs.readFileSync(path.join(dir, n));
      } catch (err) {
        throw new CartonError('EINVAL_CONFIG', `${path.join(dir, n)}: ${nodeErrorReason(err)}`, { cause: err });
      }
    };
    const material: TlsMaterial = { key: dir };
    const ca = names.filter((n) => n.endsWith('.crt')).map(read);
    if (ca.length) material.ca = ca;
    const cert = names.find((n) => n.endsWith('.cert'));
    if (cert) {
      const keyName = cert.replace(/\.cert$/, '.key');
      if (!names.includes(keyName)) {
        throw new CartonError('EINVAL_CONFIG', `${path.join(dir, cert)}: client certificate without its key ${keyName}`);
      }
      material.cert = read(cert);
      material.privateKey = read(keyName);
    }
    if (material.ca || material.cert) return material;
  }
  return undefined;
}
