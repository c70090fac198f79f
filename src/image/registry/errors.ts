/**
 * Registry error answers → CartonErrors. Registries reply
 * `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":…}]}`;
 * Docker prints `<code lower-cased with spaces>: <message>`, and so do we, with the
 * image named when "not found" would otherwise be ambiguous.
 */
import { CartonError, ErrorCode } from '../../common/errors';
import { HttpResponse, readAll } from './http';

export interface RegistryErrorEntry {
  code?: string;
  message?: string;
  detail?: unknown;
}

export function parseErrorBody(body: Buffer): RegistryErrorEntry[] {
  try {
    const json = JSON.parse(body.toString('utf8')) as { errors?: RegistryErrorEntry[] };
    return Array.isArray(json.errors) ? json.errors : [];
  } catch {
    return [];
  }
}

function phrase(code: string): string {
  return code.toLowerCase().replace(/_/g, ' ');
}

const STATUS_TEXT: Record<number, string> = {
  400: 'bad request',
  401: 'unauthorized: authentication required',
  403: 'denied: requested access to the resource is denied',
  404: 'not found',
  405: 'unsupported: the operation is unsupported',
  429: 'toomanyrequests: too many requests',
};

export interface ErrorContext {
  /** What was being done, e.g. `image "localhost:5000/a:latest"`, `blob sha256:…`. */
  subject: string;
  /** Whether credentials were sent (decides the login hint). */
  hadCredentials?: boolean;
  /** The registry checks credentials itself (Basic): a 401 then means they are wrong. */
  basic?: boolean;
}

/** Build the error for a non-success response, consuming its body. */
export async function errorFromResponse(res: HttpResponse, ctx: ErrorContext): Promise<CartonError> {
  let entries: RegistryErrorEntry[] = [];
  try {
    entries = parseErrorBody(await readAll(res, 64 * 1024));
  } catch {
    // body unreadable: the status alone has to do
  }
  const first = entries[0];
  const code = first?.code?.toUpperCase() ?? '';
  if (code === 'MANIFEST_UNKNOWN' || code === 'NAME_UNKNOWN' || (res.status === 404 && ctx.subject.startsWith('image'))) {
    return new CartonError('ENOTFOUND', `manifest unknown: ${ctx.subject} not found`);
  }
  if (code === 'BLOB_UNKNOWN' || (res.status === 404 && ctx.subject.startsWith('blob'))) {
    return new CartonError('ENOTFOUND', `blob unknown: ${ctx.subject} not found`);
  }
  let message: string;
  if (res.status === 401 && ctx.hadCredentials && ctx.basic) {
    message = 'unauthorized: incorrect username or password';
  } else if (first?.code) {
    message = `${phrase(first.code)}: ${first.message ?? phrase(first.code)}`;
  } else {
    message = STATUS_TEXT[res.status] ?? `HTTP ${res.status}`;
  }
  let hint: string | undefined;
  if (res.status === 401 || res.status === 403) {
    hint = ctx.hadCredentials ? 'check the credentials saved by carton login' : 'log in with carton login';
  }
  const errCode: ErrorCode = 'EREGISTRY';
  return new CartonError(errCode, `${message} (${ctx.subject}, HTTP ${res.status})`, { hint });
}
