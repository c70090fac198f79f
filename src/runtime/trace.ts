/**
 * Start-up timing: with CARTON_TRACE=1 each phase of a command prints its time
 * since the process started, to stderr (used to see where `run` spends its time).
 * In a prestarted worker (docs/prestart.md) times count from when it took the caller.
 */
let origin = 0;

/** A prestarted worker's commands start when it takes its caller, not when Node started. */
export function setTraceOrigin(ms: number): void {
  origin = ms;
}

export function trace(phase: string): void {
  // Read each time: a prestarted worker loads this module before it has its caller's environment.
  if (process.env.CARTON_TRACE !== '1') return;
  const ms = performance.now() - origin;
  require('fs').writeSync(2, `carton-trace ${ms.toFixed(1)}ms ${phase}\n`);
}
