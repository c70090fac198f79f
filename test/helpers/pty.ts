/**
 * Run a command inside a real pseudo-terminal (util-linux `script`), for `-it` tests.
 *
 * `script` copies its own stdin into the terminal and treats end-of-file there as the
 * end of the session. CI runs with no standard input at all, so a test must hand
 * `script` a pipe that stays open until the command has finished, or the command sees
 * its terminal hang up before it prints anything.
 */
import { spawn } from 'child_process';

export interface PtyResult {
  /** Exit status of the command (script -e passes it through); null when killed. */
  status: number | null;
  /** Everything the terminal showed, with the pty's \r\n line ends. */
  output: string;
  timedOut: boolean;
}

export interface PtyOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Typed into the terminal once `waitFor` has appeared in the output (or at once). */
  input?: string;
  waitFor?: string | RegExp;
}

export function runInPty(command: string, options: PtyOptions = {}): Promise<PtyResult> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let typed = options.input === undefined;
    let timedOut = false;
    const typeInput = (): void => {
      if (typed) return;
      const ready =
        options.waitFor === undefined ||
        (typeof options.waitFor === 'string' ? output.includes(options.waitFor) : options.waitFor.test(output));
      if (ready) {
        typed = true;
        child.stdin.write(options.input ?? '');
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString('utf8');
      typeInput();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    child.stdin.on('error', () => undefined);
    typeInput();
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ status, output, timedOut });
    });
  });
}
