/** Reading a bundle: config.json parsed and validated, rootfs resolved and checked. */
import * as fs from 'fs';
import * as path from 'path';
import { CartonError } from '../common/errors';
import type { Spec } from '../oci/spec';
import { validateSpec } from './deps';

export interface LoadedBundle {
  bundle: string;
  spec: Spec;
  rootfs: string;
}

export function loadBundle(bundleArg: string | undefined): LoadedBundle {
  const bundle = path.resolve(bundleArg || process.cwd());
  const configPath = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(configPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CartonError('ENOTFOUND', `${configPath}: no such file or directory`);
    throw new CartonError('EINVAL_CONFIG', `${configPath}: ${(err as Error).message}`, { cause: err });
  }
  let spec: Spec;
  try {
    spec = JSON.parse(text) as Spec;
  } catch (err) {
    throw new CartonError('EINVAL_CONFIG', `config.json: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new CartonError('EINVAL_CONFIG', 'config.json: must be a JSON object');
  }
  validateSpec(spec);
  if (!spec.root || typeof spec.root.path !== 'string' || !spec.root.path) {
    throw new CartonError('EINVAL_CONFIG', 'root.path: required');
  }
  if (!spec.process) throw new CartonError('EINVAL_CONFIG', 'process: required to run a container');
  const rootfs = path.resolve(bundle, spec.root.path);
  let st: fs.Stats;
  try {
    st = fs.statSync(rootfs);
  } catch (err) {
    throw new CartonError('EINVAL_CONFIG', `root.path (${rootfs}): ${reason(err)}`, { cause: err });
  }
  if (!st.isDirectory()) throw new CartonError('EINVAL_CONFIG', `root.path (${rootfs}): not a directory`);
  return { bundle, spec, rootfs };
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'ENOTDIR') return 'not a directory';
  if (code === 'EACCES') return 'permission denied';
  return (err as Error).message;
}
