// `${VAR}` interpolation in config string values.
//
//   "${VAR}"            the environment variable VAR (must be set; empty is fine)
//   "${VAR:-default}"   VAR, or `default` when VAR is unset or empty
//   "Bearer ${TOKEN}"   anywhere inside a string, several per string
//   "$${VAR}"           a literal "${VAR}" (the escape: `$${` -> `${`)
// Any other `$` is literal. Keys are not interpolated, and the result is always
// a string ("${PORT}" gives "5432", not 5432). A `${` that does not start a
// valid reference (name: letters, digits, _; not starting with a digit) is an
// error: write `$${` for a literal.

export interface StringInterpolation {
  value: string;
  /** The variables referenced (placeholders), in order. */
  variables: string[];
  /** Referenced, unset and without a default. */
  missing: string[];
  /** Why the string is malformed, if it is (never quotes the string: it may be a secret). */
  error?: string | undefined;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolateString(s: string, env: NodeJS.ProcessEnv): StringInterpolation {
  if (!s.includes('$')) return { value: s, variables: [], missing: [] };
  let out = '';
  const variables: string[] = [];
  const missing: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '$' && s[i + 1] === '$' && s[i + 2] === '{') {
      out += '${';
      i += 3;
    } else if (c === '$' && s[i + 1] === '{') {
      const end = s.indexOf('}', i + 2);
      if (end === -1) return { value: s, variables, missing, error: 'a "${" without its closing "}" (write "$${" for a literal "${")' };
      const inner = s.slice(i + 2, end);
      const sep = inner.indexOf(':-');
      const name = sep === -1 ? inner : inner.slice(0, sep);
      // never quote what follows the "${": the string may be a password that happens to hold "${"
      if (!NAME.test(name)) return { value: s, variables, missing, error: `a "\${" that does not start a valid variable reference (names are letters, digits and _; write "$\${" for a literal "\${")` };
      variables.push(name);
      const v = Object.hasOwn(env, name) ? env[name] : undefined; // not `${constructor}` or `${__proto__}` from Object.prototype
      if (sep !== -1) out += v === undefined || v === '' ? inner.slice(sep + 2) : v;
      else if (v === undefined) missing.push(name);
      else out += v;
      i = end + 1;
    } else {
      out += c;
      i++;
    }
  }
  return { value: out, variables, missing };
}

/** The variables a string references (empty for none; escapes are not references). */
export function placeholderVariables(s: string): string[] {
  return s.includes('${') ? interpolateString(s, {}).variables : [];
}

/** Escape a literal string so that loading it again gives it back: `${` -> `$${`. */
export function escapeLiteral(s: string): string {
  return s.includes('${') ? s.replaceAll('${', () => '$${') : s;
}
