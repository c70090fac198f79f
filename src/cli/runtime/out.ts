/**
 * Output without process.stdout/stderr: creating those streams costs milliseconds
 * on every start (a pipe becomes a net.Socket), and `run` is benchmarked. Writes are
 * synchronous, and a closed reader (EPIPE, `| head`) is ignored rather than fatal.
 */
import * as fs from 'fs';

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      return; // EPIPE, EBADF: nobody is listening
    }
  }
}

export const stdout = (text: string): void => writeAll(1, text);
export const stderr = (text: string): void => writeAll(2, text);
