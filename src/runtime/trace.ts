/**
 * Start-up timing: with CARTON_TRACE=1 each phase of a command prints its time
 * since the process started, to stderr (used to see where `run` spends its time).
 */
const enabled = process.env.CARTON_TRACE === '1';

export function trace(phase: string): void {
  if (!enabled) return;
  const ms = performance.now();
  require('fs').writeSync(2, `carton-trace ${ms.toFixed(1)}ms ${phase}\n`);
}
