/**
 * The engine's one door into the runtime: the in-process lifecycle API, so `carton run`
 * drives the container without starting a second Node process. Loaded lazily (the
 * image commands never need it) and typed here by the few calls the engine makes.
 * The two runtime modules that hold these calls are loaded rather than runtime/api,
 * which also evaluates exec, ps, pause/update/stats: ~2 ms of every `carton run`.
 */
export interface RuntimeRunOptions {
  /** The runtime's state directory (under the engine's runroot). */
  root: string;
  id: string;
  bundle: string;
  /** stdio for the container's process; by default Carton's own 0-2. */
  stdio?: unknown[];
  warn?: (msg: string) => void;
}

export interface RuntimeApi {
  /** Create, start, wait; returns the container's exit code (128+n when killed by signal n). */
  runContainer(opts: RuntimeRunOptions): Promise<number>;
  killContainer(root: string, id: string, signal: number, opts?: { all?: boolean }): Promise<void>;
  deleteContainer(root: string, id: string, opts?: { force?: boolean }): Promise<void>;
  /** runtime-spec state JSON; throws when the container does not exist (yet). */
  containerState(root: string, id: string): { pid?: number; status?: string };
}

let cached: RuntimeApi | undefined;

export function runtimeApi(): RuntimeApi {
  if (!cached) {
    const run = require('../runtime/run') as Pick<RuntimeApi, 'runContainer'>;
    const lifecycle = require('../runtime/lifecycle') as Omit<RuntimeApi, 'runContainer'>;
    cached = {
      runContainer: run.runContainer,
      killContainer: lifecycle.killContainer,
      deleteContainer: lifecycle.deleteContainer,
      containerState: lifecycle.containerState,
    };
  }
  return cached;
}
