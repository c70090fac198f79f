/**
 * The timeout of a hook run in the container's pid namespace (createContainer, startContainer).
 *
 * nsenter forks the hook into that namespace and waits for it. Killing nsenter at the timeout
 * (what spawnSync's own timeout does) would orphan the hook: its zombie would go to the host's
 * init, and until that init reaps it the container's init cannot finish exiting (the kernel
 * waits for every process of a dying pid namespace to be reaped). Some inits reap late (seconds).
 * So a small sh supervisor owns the timer: at the deadline it kills the hook and every other
 * process of its group but nsenter, which then reaps the hook and exits as it died; the supervisor
 * reports the timeout on fd 3. Everything stays reaped by its own parent.
 */
import * as fs from 'fs';

/** The fd on which the supervisor writes "timeout" when it killed the hook. */
export const TIMER_FD = 3;

// $1: seconds; then the command (env -i … nsenter … hook). The supervisor leads its own process
// group (spawned detached), so "our group" is every process pgid == $$. The hook is killed first
// (nsenter's only child) so that it cannot go on after its deadline; then its descendants.
const SUPERVISOR = `t=$1; shift
exec 4<&0
"$@" 0<&4 4<&- 3>&- &
ns=$!
exec 4<&-
(
  trap 'kill $sp 2>/dev/null; exit 0' TERM
  sleep "$t" 3>&- & sp=$!
  wait $sp
  echo timeout >&3
  read -r me _ < /proc/self/stat
  read -r first < /proc/$ns/task/$ns/children 2>/dev/null && kill -KILL $first 2>/dev/null
  for _ in 1 2 3 4 5 6 7 8; do
    found=
    for d in /proc/[0-9]*; do
      p=\${d#/proc/}
      case $p in $$|$ns|$me) continue ;; esac
      read -r s < $d/stat 2>/dev/null || continue
      s=\${s##*) }
      set -- $s
      [ "$3" = "$$" ] && kill -KILL "$p" 2>/dev/null && found=1
    done
    [ -n "$found" ] || break
  done
) &
w=$!
wait $ns
st=$?
kill $w 2>/dev/null
wait $w
exit $st
`;

function firstExisting(paths: string[], fallback: string): string {
  for (const p of paths) if (fs.existsSync(p)) return p;
  return fallback;
}

export interface TimedCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * `nsenter nsenterArgs…` under the supervisor, the hook getting exactly `hookEnv` (env -i: the
 * supervising shell's own variables, PWD for one, must not leak into it).
 */
export function timedNsenter(timeoutSeconds: number, hookEnv: string[], nsenterArgs: string[]): TimedCommand {
  const envBin = firstExisting(['/usr/bin/env', '/bin/env'], 'env');
  const nsenter = firstExisting(['/usr/bin/nsenter', '/bin/nsenter', '/usr/sbin/nsenter'], 'nsenter');
  // Only NAME=VALUE entries: anything else would be taken by env as the command.
  const assignments = hookEnv.filter((kv) => kv.indexOf('=') > 0);
  return {
    file: '/bin/sh',
    args: ['-c', SUPERVISOR, 'carton-hook-timer', String(timeoutSeconds), envBin, '-i', '--', ...assignments, nsenter, ...nsenterArgs],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  };
}

/** The supervisor's report: did it kill the hook at its deadline? */
export function killedAtDeadline(output: (Buffer | string | null)[] | null | undefined): boolean {
  const fd3 = output?.[TIMER_FD];
  return !!fd3 && String(fd3).includes('timeout');
}
