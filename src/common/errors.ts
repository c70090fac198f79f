/**
 * The one error type of Carton. Every failure a user can see is a CartonError:
 * a stable `code` a script can match on, a message that names the field or flag
 * at fault and the kernel's reason, an optional `hint` on how to fix it, and the
 * underlying `cause`. `exitCode` follows Docker/Podman conventions where they apply
 * (125 engine error, 126 cannot invoke, 127 not found).
 */
export type ErrorCode =
  | 'EINVAL_CONFIG' // config.json or flags are wrong
  | 'ENOTFOUND' // container, image, file that should exist does not
  | 'EEXIST' // container id already used
  | 'ESTATE' // operation not valid in the container's current status
  | 'EKERNEL' // the kernel refused an operation
  | 'EEXEC_NOTFOUND' // the container's command does not exist
  | 'EEXEC_PERM' // the container's command cannot be invoked
  | 'EREGISTRY' // registry answered with an error
  | 'EDIGEST' // content did not match its digest
  | 'EUNSUPPORTED' // asked for a feature this host or Carton lacks
  | 'EHOOK' // a hook failed or timed out
  | 'EINTERNAL';

export interface CartonErrorOptions {
  hint?: string;
  cause?: unknown;
  exitCode?: number;
}

export class CartonError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  override readonly cause?: unknown;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: CartonErrorOptions = {}) {
    super(message);
    this.name = 'CartonError';
    this.code = code;
    this.hint = options.hint;
    this.cause = options.cause;
    this.exitCode = options.exitCode ?? defaultExitCode(code);
  }

  /** The message with its hint, as a user reads it on one line. */
  describe(): string {
    return this.hint ? `${this.message} (hint: ${this.hint})` : this.message;
  }
}

function defaultExitCode(code: ErrorCode): number {
  if (code === 'EEXEC_NOTFOUND') return 127;
  if (code === 'EEXEC_PERM') return 126;
  return 1;
}

/** Short lower-case reason for an errno, as strerror(3) words it (runc style). */
export function errnoReason(errno: number): string {
  return ERRNO_TEXT[errno] ?? `errno ${errno}`;
}

/** Errno number → strerror text, for the errors the init reports. */
const ERRNO_TEXT: Record<number, string> = {
  1: 'operation not permitted',
  2: 'no such file or directory',
  3: 'no such process',
  4: 'interrupted system call',
  5: 'input/output error',
  7: 'argument list too long',
  8: 'exec format error',
  9: 'bad file descriptor',
  11: 'resource temporarily unavailable',
  12: 'cannot allocate memory',
  13: 'permission denied',
  14: 'bad address',
  16: 'device or resource busy',
  17: 'file exists',
  18: 'invalid cross-device link',
  19: 'no such device',
  20: 'not a directory',
  21: 'is a directory',
  22: 'invalid argument',
  23: 'too many open files in system',
  24: 'too many open files',
  26: 'text file busy',
  27: 'file too large',
  28: 'no space left on device',
  30: 'read-only file system',
  31: 'too many links',
  32: 'broken pipe',
  34: 'numerical result out of range',
  36: 'file name too long',
  38: 'function not implemented',
  39: 'directory not empty',
  40: 'too many levels of symbolic links',
  95: 'operation not supported',
  110: 'connection timed out',
  111: 'connection refused',
  112: 'host is down',
  113: 'no route to host',
};

/** Name → errno, for mapping Node's `err.code` strings. */
export const ERRNO_BY_NAME: Record<string, number> = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, E2BIG: 7, ENOEXEC: 8, EBADF: 9,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EXDEV: 18,
  ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ETXTBSY: 26,
  EFBIG: 27, ENOSPC: 28, EROFS: 30, EMLINK: 31, EPIPE: 32, ERANGE: 34, ENAMETOOLONG: 36,
  ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, EOPNOTSUPP: 95, ETIMEDOUT: 110, ECONNREFUSED: 111,
};

/** The reason text of a Node system error (`EACCES` → "permission denied"). */
export function nodeErrorReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && ERRNO_BY_NAME[e.code] !== undefined) {
    return errnoReason(ERRNO_BY_NAME[e.code]);
  }
  return e && e.message ? e.message : String(err);
}

/** Wrap any thrown value as a CartonError, keeping CartonErrors as they are. */
export function asCartonError(err: unknown, code: ErrorCode = 'EINTERNAL'): CartonError {
  if (err instanceof CartonError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CartonError(code, message, { cause: err });
}
