/**
 * Small typed accessors for validating untyped JSON: each checks one field and
 * throws a CartonError whose message starts with the field's path.
 */
import { CartonError } from '../common/errors';

export type Obj = Record<string, unknown>;

export function fail(field: string, reason: string): never {
  throw new CartonError('EINVAL_CONFIG', `${field}: ${reason}`);
}

export function unsupported(field: string, reason: string): never {
  throw new CartonError('EUNSUPPORTED', `${field}: ${reason}`);
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isAbsolute(path: string): boolean {
  return path.startsWith('/');
}

export function optObj(o: Obj, key: string, field: string): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) fail(field, 'must be an object');
  return v;
}

export function optArray(o: Obj, key: string, field: string): unknown[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) fail(field, 'must be an array');
  return v;
}

export function optStringArray(o: Obj, key: string, field: string): string[] | undefined {
  const v = optArray(o, key, field);
  v?.forEach((s, i) => {
    if (typeof s !== 'string') fail(`${field}[${i}]`, 'must be a string');
  });
  return v as string[] | undefined;
}

export function optString(o: Obj, key: string, field: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(field, 'must be a string');
  return v;
}

export function reqString(o: Obj, key: string, field: string): string {
  const v = optString(o, key, field);
  if (v === undefined) fail(field, 'required');
  return v;
}

export function optBool(o: Obj, key: string, field: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') fail(field, 'must be true or false');
  return v;
}

export function optInt(o: Obj, key: string, field: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(field, 'must be an integer');
  return v;
}

export function reqInt(o: Obj, key: string, field: string): number {
  const v = optInt(o, key, field);
  if (v === undefined) fail(field, 'required');
  return v;
}
