// Gateway API hostname rules. A wildcard `*.example.com` matches any name ending in `.example.com` (one or
// more labels), never `example.com` itself; `*` (no hostname) matches everything. Used by the builder, the
// matcher and (through the same order) the data plane's lookup.

/** gatewayHostMatches tells whether `host` (lower case, no port) is covered by a listener or route hostname. */
export function gatewayHostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/**
 * intersectHostname returns the hostname a route hostname serves on a listener hostname (the more specific of
 * the two when one covers the other), or undefined when they share no name.
 */
export function intersectHostname(listener: string, route: string): string | undefined {
  if (listener === '*') return route;
  if (route === '*') return listener;
  if (gatewayHostMatches(listener, route)) return route;
  if (gatewayHostMatches(route, listener)) return listener;
  return listener === route ? route : undefined;
}

/**
 * hostSpecificity orders hostnames most specific first: exact names, then wildcards with the longest suffix,
 * then `*`; ties by name, so the order is total.
 */
export function compareHostSpecificity(a: string, b: string): number {
  const rank = (h: string): number => (h === '*' ? 2 : h.startsWith('*.') ? 1 : 0);
  const d = rank(a) - rank(b);
  if (d !== 0) return d;
  if (a.length !== b.length) return b.length - a.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * lookupOrder lists the names the data plane tries for a request host, most specific first: the host itself,
 * then `*.` + each parent suffix, then `*`. Its first name present in a set is the most specific match.
 */
export function lookupOrder(host: string): string[] {
  const out = [host];
  let rest = host;
  for (let dot = rest.indexOf('.'); dot !== -1; dot = rest.indexOf('.')) {
    rest = rest.slice(dot + 1);
    if (rest !== '') out.push(`*.${rest}`);
  }
  out.push('*');
  return out;
}
