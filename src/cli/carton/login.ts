/** `carton login [-u USER] [-p PASS | --password-stdin] [SERVER]` and `carton logout [SERVER]`. */
import * as fs from 'fs';
import { CartonError } from '../../common/errors';
import { CliContext, bool, parseCommand, str } from './context';

const LOGIN_HELP = {
  usage: 'login [OPTIONS] [SERVER]',
  description: 'Log in to a registry.\nIf no server is specified, the default is defined by the daemon.',
  flags: [
    { name: 'username', short: 'u', type: 'string' as const, value: 'string', help: 'Username' },
    { name: 'password', short: 'p', type: 'string' as const, value: 'string', help: 'Password' },
    { name: 'password-stdin', type: 'bool' as const, help: 'Take the password from stdin' },
    { name: 'authfile', type: 'string' as const, value: 'path', help: 'Path of the authentication file' },
    { name: 'tls-verify', type: 'string' as const, value: 'bool', help: 'Require HTTPS and verify certificates (default true)' },
  ],
};

function readLine(prompt: string | undefined, ctx: CliContext): string {
  if (prompt) ctx.err(prompt);
  const data = fs.readFileSync(0, 'utf8');
  return data.split('\n')[0] ?? '';
}

export async function loginCommand(argv: string[], ctx: CliContext): Promise<number> {
  const p = parseCommand('login', argv, LOGIN_HELP, ctx);
  if (!p) return 0;
  const auth = require('../../image/auth') as typeof import('../../image/auth');
  let username = str(p, 'username');
  let password = str(p, 'password');
  if (bool(p, 'password-stdin')) {
    if (password !== undefined) throw new CartonError('EINVAL_CONFIG', '--password and --password-stdin are mutually exclusive', { exitCode: 1 });
    if (username === undefined) throw new CartonError('EINVAL_CONFIG', 'Must provide --username with --password-stdin', { exitCode: 1 });
    password = fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  } else if (password !== undefined) {
    ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  if (username === undefined) username = readLine('Username: ', ctx).trim();
  if (password === undefined) password = readLine('Password: ', ctx);
  const tls = str(p, 'tls-verify');
  const file = await auth.login(p.positionals[0], username, password, {
    authFile: str(p, 'authfile'),
    tlsVerify: tls === undefined ? undefined : !/^(0|f|false)$/i.test(tls),
  });
  ctx.out(`WARNING! Your password will be stored unencrypted in ${file}.\n\nLogin Succeeded\n`);
  return 0;
}

const LOGOUT_HELP = {
  usage: 'logout [SERVER]',
  description: 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.',
  flags: [{ name: 'authfile', type: 'string' as const, value: 'path', help: 'Path of the authentication file' }],
};

export async function logoutCommand(argv: string[], ctx: CliContext): Promise<number> {
  const p = parseCommand('logout', argv, LOGOUT_HELP, ctx);
  if (!p) return 0;
  const auth = require('../../image/auth') as typeof import('../../image/auth');
  const server = auth.normalizeRegistry(p.positionals[0]);
  const removed = auth.logout(p.positionals[0], { authFile: str(p, 'authfile') });
  if (removed) ctx.out(`Removing login credentials for ${server}\n`);
  else ctx.out(`Not logged in to ${server}\n`);
  return 0;
}
