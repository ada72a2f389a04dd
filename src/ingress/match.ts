// matchRequest: the routing decision for one request, computed from the RouteTable alone. It is the
// executable specification the data-plane renderers are tested against (same order of checks: host,
// path, 308 redirect, allow-list, rewrite).
import { cidrContains, tryParseCidr } from '../address/address.ts';
import { compilePathRegex, expandRewrite, hostMatches, prefixMatches, stripPort } from './paths.ts';
import type { Route, RouteTable, VirtualHost } from './types.ts';

/** RequestView is what routing looks at. `path` is already normalised by the data plane (no `//`, `/./`, `%61`). */
export interface RequestView {
  host: string;
  path: string;
  /** https: the request arrived over TLS (default false). */
  https?: boolean;
  /** clientAddress: checked against allow-lists when given. */
  clientAddress?: string;
}

/** MatchResult is the decision: proxy (with the path sent upstream), redirect, forbidden or not found. */
export type MatchResult =
  | { action: 'proxy'; backend: string; vhost?: string; route?: Route; upstreamPath: string }
  | { action: 'redirect'; status: 308; vhost: string; route: Route }
  | { action: 'forbidden'; status: 403; vhost: string; route: Route }
  | { action: 'notFound'; status: 404 };

/** selectVirtualHost picks the host's virtual host: exact name, else its one-label wildcard, else `*`. */
export function selectVirtualHost(table: RouteTable, host: string): VirtualHost | undefined {
  const h = stripPort(host);
  return (
    table.hosts.find((v) => v.host === h) ??
    table.hosts.find((v) => v.host.startsWith('*.') && hostMatches(v.host, h)) ??
    table.hosts.find((v) => v.host === '*')
  );
}

/** routeMatches tells whether one route matches a (normalised) request path. */
export function routeMatches(route: Route, path: string): boolean {
  switch (route.kind) {
    case 'Exact':
      return route.path === path;
    case 'Prefix':
      return prefixMatches(route.path, path);
    case 'Regex':
      return compilePathRegex(route.path).test(path);
  }
}

/** selectRoute returns the first route of `vhost` (they are in precedence order) matching `path`. */
export function selectRoute(vhost: VirtualHost, path: string): Route | undefined {
  return vhost.routes.find((r) => routeMatches(r, path));
}

/** rewritePath applies a route's rewrite to a path (query strings are kept by the caller). */
export function rewritePath(route: Route, path: string): string {
  if (!route.rewrite) return path;
  const m = new RegExp(route.rewrite.regex, 'i').exec(path);
  return m ? expandRewrite(route.rewrite.target, m) : path;
}

/**
 * matchRequest routes one request: virtual host by Host (exact, wildcard, any), then the first route in
 * precedence order (Exact, longest path, Prefix before Regex, older Ingress), else the default backend,
 * else 404. Plain HTTP to a route with `redirectToHttps` gets 308; a client outside `allow` gets 403.
 */
export function matchRequest(table: RouteTable, req: RequestView): MatchResult {
  const vhost = selectVirtualHost(table, req.host);
  const route = vhost ? selectRoute(vhost, req.path) : undefined;
  if (!vhost || !route) {
    if (table.defaultBackend !== undefined) {
      return { action: 'proxy', backend: table.defaultBackend, upstreamPath: req.path };
    }
    return { action: 'notFound', status: 404 };
  }
  if (route.redirectToHttps && !req.https)
    return { action: 'redirect', status: 308, vhost: vhost.host, route };
  if (route.allow && req.clientAddress !== undefined) {
    const client = tryParseCidr(req.clientAddress, { bareAddress: true });
    const ok =
      client !== undefined &&
      route.allow.some((c) => {
        const net = tryParseCidr(c, { bareAddress: true });
        return net !== undefined && cidrContains(net, client);
      });
    if (!ok) return { action: 'forbidden', status: 403, vhost: vhost.host, route };
  }
  return {
    action: 'proxy',
    backend: route.backend,
    vhost: vhost.host,
    route,
    upstreamPath: rewritePath(route, req.path),
  };
}
