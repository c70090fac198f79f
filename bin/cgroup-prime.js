'use strict';
/**
 * Joining a process to a cgroup (a write to cgroup.procs) takes a kernel lock shared by
 * every hierarchy, and the first writer after a quiet spell waits a whole RCU grace period
 * for it, holding cgroup_mutex meanwhile: 5-20 ms on the development host, the largest
 * single wait of `carton-runtime run` (runc pays it as well). Writers that follow within
 * a grace period take the fast path.
 *
 * primeCgroupJoin() starts that wait at once, in libuv's thread pool, by moving this
 * process into the cgroup it is already in (which changes nothing): it passes while the
 * bundle loads and the config is checked, and the init's real join comes a few
 * milliseconds later. Best effort: any error (no cgroupfs, not root) is ignored, and then
 * the join simply waits as it would have.
 */
const fs = require('fs');

function primeCgroupJoin() {
  let text;
  try {
    text = fs.readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return;
  }
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line);
    if (!m) continue;
    // cgroup2 ("0::/path": /sys/fs/cgroup/unified on hybrid hosts, else /sys/fs/cgroup) or a v1 hierarchy.
    const dirs = m[1] === '' ? ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'] : [`/sys/fs/cgroup/${m[1].replace(/^name=/, '')}`];
    for (const dir of dirs) {
      let fd;
      try {
        fd = fs.openSync(`${dir}${m[2] === '/' ? '' : m[2]}/cgroup.procs`, 'w');
      } catch {
        continue;
      }
      // One pool request: it starts now, not at the next turn of the event loop.
      fs.write(fd, String(process.pid), () => fs.close(fd, () => undefined));
      return;
    }
  }
}

module.exports = { primeCgroupJoin };
