/**
 * A prestart pool at the default directory, for engines that give the runtime an environment
 * of their own (conmon, containerd's shim: no CARTON_PRESTART_DIR reaches carton-runtime).
 * Registers its own before/after in the calling describe; runs only where no other pool is
 * there, and removes the directory afterwards unless it existed before.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { REPO } from '../runtime/helpers';
import { PoolHandle, startPool } from '../../src/prestart/pool-control';
import { DEFAULT_DIR } from '../../src/prestart/pool';

export interface DefaultDirPool {
  /** Why the cases must be skipped (another pool serves the default directory), or false. */
  skip: string | false;
  /** The running pool (set by the before hook). */
  pool(): PoolHandle;
}

/** `enabled` false (the engine is not installed): nothing is started. `env`: the pool's, as the engine's runtime would start Node. */
export function defaultDirPool(enabled: boolean, env: NodeJS.ProcessEnv): DefaultDirPool {
  const skip = fs.existsSync(path.join(DEFAULT_DIR, 'carton-runtime.idle')) && `a prestart pool already serves ${DEFAULT_DIR}`;
  const dirExisted = fs.existsSync(DEFAULT_DIR);
  let pool: PoolHandle | undefined;
  before(async () => {
    if (!enabled || skip) return;
    pool = startPool(REPO, DEFAULT_DIR, 3, env);
    assert.ok(await pool.waitFull(), 'prestart pool ready');
  });
  after(async () => {
    await pool?.stop();
    if (pool && !dirExisted) fs.rmSync(DEFAULT_DIR, { recursive: true, force: true });
  });
  return {
    skip,
    pool: () => {
      assert.ok(pool, 'the prestart pool was started');
      return pool;
    },
  };
}
