// Path and host matching primitives shared by the route-table builder, the matcher and the renderers, so
// that what the tests prove about `matchRequest` is what the data plane is told to do.

/** normalizePrefix drops trailing slashes of a Prefix path (`/foo/` → `/foo`), keeping `/` itself. */
export function normalizePrefix(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/**
 * prefixMatches is Kubernetes Prefix matching: element-wise, so `/aaa/bbb` matches `/aaa/bbb`, `/aaa/bbb/`
 * and `/aaa/bbb/ccc` but not `/aaa/bbbxyz`. `rule` must be normalised by `normalizePrefix`.
 */
export function prefixMatches(rule: string, requestPath: string): boolean {
  if (rule === '/') return requestPath.startsWith('/');
  return requestPath === rule || requestPath.startsWith(rule + '/');
}

/** anchoredRegexSource anchors a user regex at the start of the path, as ingress-nginx's `~* "^..."` does. */
export function anchoredRegexSource(pattern: string): string {
  return `^(?:${pattern})`;
}

/** compilePathRegex compiles a Regex route's path: anchored at the start, case-insensitive. */
export function compilePathRegex(pattern: string): RegExp {
  return new RegExp(anchoredRegexSource(pattern), 'i');
}

function hasSpaceOrControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || /\s/.test(s[i] ?? '')) return true;
  }
  return false;
}

// Escapes both JavaScript and PCRE2 read the same way. Anything else (\u, \x, \c, \p, \k...) is refused so a
// path the builder accepts can never be refused later by the data plane.
const SAFE_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S', 'b', 'B', 'n', 'r', 't']);

/**
 * regexPathProblem returns why `pattern` cannot be a Regex path, or undefined when it can. Accepted patterns
 * compile identically in JavaScript and PCRE2: no whitespace, no `^` except a leading one (which callers strip),
 * no lookbehind, escapes limited to classes, control letters, punctuation and back-references.
 */
export function regexPathProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('/')) return 'must start with "/"';
  if (hasSpaceOrControl(pattern)) return 'must not contain whitespace or control characters';
  if (pattern.includes('(?<=') || pattern.includes('(?<!')) return 'lookbehind is not supported';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) return 'ends with a lone "\\"';
      if (/[A-Za-z]/.test(n) && !SAFE_ESCAPES.has(n)) return `escape "\\${n}" is not supported`;
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
      continue;
    }
    if (c === '^') return 'anchor "^" is only allowed at the start';
  }
  try {
    compilePathRegex(pattern);
  } catch (err) {
    return `is not a valid regular expression (${(err as Error).message})`;
  }
  return undefined;
}

/** literalPathProblem returns why `path` cannot be an Exact or Prefix path, or undefined when it can. */
export function literalPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must start with "/"';
  if (hasSpaceOrControl(path)) return 'must not contain whitespace or control characters';
  return undefined;
}

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const HOST_RE = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

/** hostProblem returns why `host` (lower case) is not a DNS name or a one-label wildcard `*.name`. */
export function hostProblem(host: string): string | undefined {
  const bare = host.startsWith('*.') ? host.slice(2) : host;
  if (host.length > 253 || !HOST_RE.test(bare) || bare.split('.').some((l) => l.length > 63)) {
    return 'is not a valid host name (a DNS name, optionally starting with "*.")';
  }
  if (/^[0-9.]+$/.test(bare)) return 'must be a DNS name, not an IP address';
  return undefined;
}

/** hostMatches tells whether a request host (lower case, no port) matches a rule host; `*.foo.com` covers exactly one label. */
export function hostMatches(ruleHost: string, requestHost: string): boolean {
  if (ruleHost === '*') return true;
  if (!ruleHost.startsWith('*.')) return ruleHost === requestHost;
  const suffix = ruleHost.slice(1);
  if (!requestHost.endsWith(suffix)) return false;
  const label = requestHost.slice(0, requestHost.length - suffix.length);
  return label.length > 0 && !label.includes('.');
}

/** stripPort removes a `:port` from a Host header value and lower-cases it (`[v6]:port` keeps its brackets). */
export function stripPort(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(0, end + 1);
  }
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

/**
 * expandRewrite fills `$1..$9` in `target` from a match; a group that did not take part gives "". `$` not
 * followed by a digit is kept as is.
 */
export function expandRewrite(target: string, groups: readonly (string | undefined)[]): string {
  return target.replace(/\$([1-9])/g, (_m, d: string) => groups[Number(d)] ?? '');
}
