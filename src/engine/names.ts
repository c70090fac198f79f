/**
 * Container ids (64 hex, like Docker's) and generated names in Docker's
 * `adjective_surname` shape. The word lists are Carton's own.
 */
import * as fs from 'fs';
import { CartonError } from '../common/errors';

const ADJECTIVES = [
  'agile', 'amber', 'ample', 'azure', 'bold', 'brave', 'breezy', 'bright', 'calm', 'candid', 'clever', 'cosmic',
  'crisp', 'curious', 'daring', 'deft', 'eager', 'earnest', 'fearless', 'fervent', 'gentle', 'glad', 'golden',
  'hardy', 'honest', 'humble', 'jolly', 'keen', 'kind', 'lively', 'loyal', 'lucid', 'mellow', 'merry', 'modest',
  'nimble', 'noble', 'patient', 'placid', 'plucky', 'polite', 'proud', 'quick', 'quiet', 'rapid', 'ready',
  'serene', 'sharp', 'shiny', 'silent', 'sleek', 'snug', 'steady', 'sunny', 'swift', 'tender', 'tidy', 'upbeat',
  'vivid', 'warm', 'witty', 'zealous', 'zesty',
];

const SURNAMES = [
  'agnesi', 'babbage', 'banach', 'bohr', 'boole', 'cantor', 'cauchy', 'chebyshev', 'curie', 'dijkstra', 'euclid',
  'euler', 'faraday', 'fermat', 'fourier', 'galois', 'gauss', 'germain', 'godel', 'hamming', 'hilbert', 'hopper',
  'huffman', 'jacobi', 'kepler', 'knuth', 'kovalevskaya', 'lagrange', 'laplace', 'leibniz', 'lovelace', 'maxwell',
  'meitner', 'minsky', 'napier', 'newton', 'noether', 'pascal', 'poincare', 'ramanujan', 'riemann', 'shannon',
  'somerville', 'stokes', 'tesla', 'thompson', 'turing', 'volta', 'wiles', 'yalow',
];

/**
 * A new random container id: 64 lower-case hex characters. Read from the kernel's
 * random source directly: `require('crypto')` costs ~3 ms of every `carton run`.
 */
export function newContainerId(): string {
  const bytes = Buffer.alloc(32);
  let fd: number | undefined;
  try {
    fd = fs.openSync('/dev/urandom', 'r');
    if (fs.readSync(fd, bytes, 0, 32, null) === 32) return bytes.toString('hex');
  } catch {
    /* no /dev/urandom (a minimal chroot): crypto below */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return (require('crypto') as typeof import('crypto')).randomBytes(32).toString('hex');
}

/** A random `adjective_surname`; `taken` lets the caller avoid names in use. */
export function generateName(taken: (name: string) => boolean = () => false, random: () => number = Math.random): string {
  for (let attempt = 0; ; attempt++) {
    const a = ADJECTIVES[Math.floor(random() * ADJECTIVES.length)];
    const s = SURNAMES[Math.floor(random() * SURNAMES.length)];
    // Like Docker, add a digit once plain names start colliding.
    const name = attempt < 10 ? `${a}_${s}` : `${a}_${s}${Math.floor(random() * 10)}`;
    if (!taken(name)) return name;
  }
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Validate a user-chosen --name; returns it without a leading slash. */
export function checkName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new CartonError('EINVAL_CONFIG', `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { exitCode: 125 });
  }
  return name.replace(/^\//, '');
}
