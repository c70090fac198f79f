/**
 * WWW-Authenticate challenges (RFC 7235) as registries send them:
 *   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"
 *   Basic realm="Registry Realm"
 * Several challenges may share one header (comma-separated); each starts with a scheme token.
 */

export interface Challenge {
  /** Lower-cased scheme: "bearer", "basic", … */
  scheme: string;
  /** Parameters with lower-cased names. */
  params: Record<string, string>;
}

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const parts = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const h of parts) parseOne(h, out);
  return out;
}

function parseOne(input: string, out: Challenge[]): void {
  let s = input;
  let current: Challenge | undefined;
  const skip = (): void => {
    s = s.replace(/^[\s,]+/, '');
  };
  skip();
  while (s.length > 0) {
    const tok = TOKEN_RE.exec(s);
    if (!tok) return; // malformed tail: keep what we have
    const word = tok[0];
    const rest = s.slice(word.length).replace(/^\s*/, '');
    if (rest.startsWith('=') && current) {
      // name=value parameter of the current challenge
      s = rest.slice(1).replace(/^\s*/, '');
      let value: string;
      if (s.startsWith('"')) {
        let i = 1;
        value = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        s = s.slice(i + 1);
      } else {
        const v = /^[^,\s]*/.exec(s)![0];
        value = v;
        s = s.slice(v.length);
      }
      current.params[word.toLowerCase()] = value;
    } else {
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
      s = rest;
    }
    skip();
  }
}
