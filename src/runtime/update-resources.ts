/**
 * What `update` takes: --resources FILE|- (LinuxResources, checked like config.json's
 * linux.resources, src/oci/validate-resources.ts) and the limit flags.
 */
import { CartonError } from '../common/errors';
import type { LinuxResources } from '../oci/spec';
import { checkResources } from '../oci/validate-resources';

/** The parsed --resources JSON, checked; throws naming the first bad field. */
export function checkUpdateResources(raw: unknown): LinuxResources {
  return checkResources(raw, '');
}

/** A limit flag that must be a whole number (the argument parser only checks it is a number). */
export function integerFlag(flag: string, value: number, opts: { min?: number } = {}): number {
  if (!Number.isInteger(value)) throw new CartonError('EINVAL_CONFIG', `--${flag}: expected an integer, got ${value}`);
  if (opts.min !== undefined && value < opts.min) throw new CartonError('EINVAL_CONFIG', `--${flag}: must be at least ${opts.min}, got ${value}`);
  return value;
}
