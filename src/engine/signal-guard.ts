/**
 * Signals during `carton run` before the runtime forwards them itself.
 */
import * as os from 'os';
import { CartonError } from '../common/errors';
import { runtimeApi } from './runtime-client';

const GUARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/**
 * Keeps `carton run` alive through Ctrl-C and SIGTERM from the first moment, so a signal
 * never kills Carton and orphans a container half set up. While setting up, a signal aborts
 * the run (and everything is undone); once the container is starting, signals that arrive
 * before the runtime's own forwarding is in place are queued and delivered to the
 * container's init as soon as its pid is known.
 */
export class SignalGuard {
  /** 'pull': nothing of the container exists yet and the store is crash-safe, so a signal just ends Carton. */
  private phase: 'pull' | 'setup' | 'starting' = 'pull';
  private abortedBy: NodeJS.Signals | undefined;
  private pending: NodeJS.Signals[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly handler = (sig: NodeJS.Signals): void => {
    if (this.phase === 'pull') process.exit(128 + os.constants.signals[sig]);
    if (this.phase === 'setup') {
      this.abortedBy ??= sig;
      return;
    }
    // Another listener means the runtime forwards signals itself now.
    if (process.listenerCount(sig) > 1) return;
    this.pending.push(sig);
    this.timer ??= setInterval(() => this.deliver(), 20);
  };

  constructor(private readonly rtRoot: string, private readonly id: string) {
    for (const s of GUARDED) process.on(s, this.handler);
  }

  /** From here on the container has things to undo: signals abort in an orderly way. */
  settingUp(): void {
    this.phase = 'setup';
  }

  checkNotAborted(): void {
    if (this.abortedBy) {
      const n = os.constants.signals[this.abortedBy];
      throw new CartonError('ESTATE', `interrupted by ${this.abortedBy} before the container started`, { exitCode: 128 + n });
    }
  }

  containerStarting(): void {
    this.phase = 'starting';
  }

  private deliver(): void {
    let pid: number | undefined;
    try {
      pid = runtimeApi().containerState(this.rtRoot, this.id).pid;
    } catch {
      return; // not created yet
    }
    if (!pid) return;
    for (const sig of this.pending.splice(0)) {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
    clearInterval(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    for (const s of GUARDED) process.off(s, this.handler);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
