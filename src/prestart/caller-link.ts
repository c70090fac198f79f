/**
 * A worker's side of carton-init starts (src/common/caller.ts): the client forks and
 * execs the init with the fds this process sends ('S'), answers with its pid ('P'), and
 * reports its end when it reaps it ('R').
 */
import * as fs from 'fs';
import { getSystemErrorName } from 'util';
import { addon } from '../native/addon';
import { CallerInitSpawner } from '../common/caller';
import { encodeSpawn, readInt32s, spawnSlots } from './protocol';

export function callerLink(conn: number): CallerInitSpawner {
  const a = addon();
  const statuses = new Map<number, number>();
  let hungUp = false;

  /** Read frames until a 'P' (returned) or, with `nowait`, until none is waiting. */
  const pump = (nowait: boolean): number[] | undefined => {
    while (!hungUp) {
      const f = a.frameRecv(conn, nowait);
      if (f === undefined) return undefined;
      if (f === null) {
        hungUp = true;
        return undefined;
      }
      for (const fd of f.fds) fs.closeSync(fd);
      if (f.type === 'R') {
        const [pid, status] = readInt32s(f.payload, 2);
        statuses.set(pid, status);
      } else if (f.type === 'P') {
        return readInt32s(f.payload, 2);
      }
    }
    return undefined;
  };

  return {
    spawnInit(file, fds, envEntry, nonblocking) {
      const [mine, theirs] = a.socketpair(nonblocking);
      let answer: number[] | undefined;
      try {
        const { slots, attached } = spawnSlots(fds, theirs);
        a.frameSend(conn, 'S', encodeSpawn(file, envEntry, slots), attached);
        answer = pump(false);
      } finally {
        fs.closeSync(theirs);
      }
      const [pid, errno] = answer ?? [-1, 0];
      if (pid > 0) return [pid, mine];
      fs.closeSync(mine);
      const code = errno > 0 ? getSystemErrorName(-errno) : 'ECONNRESET';
      throw Object.assign(new Error(`spawn ${file} (through the carton client): ${code}`), { code, syscall: 'spawn', path: file });
    },
    waitStatus(pid) {
      if (!statuses.has(pid)) pump(true);
      const status = statuses.get(pid);
      if (status !== undefined) return status;
      // The client is gone: its child was reparented and can no longer be waited for.
      if (hungUp) throw Object.assign(new Error('waitpid: the carton client is gone'), { code: 'ECHILD' });
      return null;
    },
  };
}
