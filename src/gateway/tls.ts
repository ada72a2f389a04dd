// TLSRoute: TLS passthrough by SNI. A Gateway listener of protocol TLS in mode Passthrough sends each connection,
// still encrypted, to the backends of the TLSRoute whose hostname matches the ClientHello's SNI (exact names
// before wildcards, longer wildcards first; within a listener, the older route keeps a hostname two routes
// claim). HTTPS listeners on the same port are reached through the same proxy port: the data plane hands a
// connection whose SNI picks an HTTPS listener to the terminating frontend (src/gateway/tls-render.ts).
import {
  attachRoute,
  compareAge,
  objectKey,
  resolveBackendRef,
  type AttachContext,
  type GatewayBackendRef,
  type GatewayInput,
  type ListenerState,
} from './build.ts';
import type { ServiceObject } from '../ingress/resolve.ts';
import {
  GATEWAY_GROUP,
  type ListenerObject,
  type PassthroughHost,
  type RouteParentStatusObject,
  type TLSRouteObject,
  type WeightedBackend,
} from './types.ts';

/**
 * tlsListenerProblem tells why a TLS listener cannot be served (its Accepted=False UnsupportedValue message), or
 * undefined. Only Passthrough is served: terminating TLS is what HTTPS listeners do (TLSRouteModeTerminate is
 * not claimed); the mode defaults to Terminate.
 */
export function tlsListenerProblem(l: ListenerObject): string | undefined {
  const mode = l.tls?.mode ?? 'Terminate';
  if (mode === 'Passthrough') return undefined;
  return `TLS mode "${mode}" is not supported on a TLS listener (Passthrough is; HTTPS listeners terminate TLS)`;
}

/** ParsedTlsRoute is a TLSRoute's backends, weighted, and its ResolvedRefs problem (the first one). */
interface ParsedTlsRoute {
  weighted: WeightedBackend[];
  backends: GatewayBackendRef[];
  refs?: { reason: string; message: string };
}

function parseTlsRoute(
  route: TLSRouteObject,
  input: Pick<GatewayInput, 'referenceGrants'>,
  services: ReadonlyMap<string, ServiceObject>,
): ParsedTlsRoute {
  const from = { group: GATEWAY_GROUP, kind: 'TLSRoute', namespace: route.metadata?.namespace ?? 'default' };
  const out: ParsedTlsRoute = { weighted: [], backends: [] };
  (route.spec?.rules ?? []).forEach((rule, ri) =>
    (rule.backendRefs ?? []).forEach((ref, bi) => {
      const weight = ref.weight ?? 1;
      const r = resolveBackendRef(ref, from, `rule ${ri} backendRef ${bi}`, input, services);
      if ('reason' in r) out.refs ??= r;
      else if (!out.backends.some((b) => b.id === r.id)) out.backends.push(r);
      if (weight > 0) out.weighted.push({ backend: 'reason' in r ? null : r.id, weight });
    }),
  );
  return out;
}

/** TlsAttachment is what TLSRoutes give the build: their status, each listener's SNI hosts, their backends. */
export interface TlsAttachment {
  /** status: "namespace/name" of each TLSRoute → our `status.parents` entries. */
  status: Map<string, RouteParentStatusObject[]>;
  /** hosts: per programmable TLS listener, SNI hostname → what serves it. */
  hosts: Map<ListenerState, Map<string, PassthroughHost>>;
  backends: GatewayBackendRef[];
}

/**
 * attachTlsRoutes attaches TLSRoutes, oldest first, to the TLS listeners of our Gateways (attachRoute: the
 * spec's reasons, hostname intersection); a hostname already served on a listener stays with the older route.
 * O(routes × parentRefs × listeners × hostnames).
 */
export function attachTlsRoutes(
  routes: readonly TLSRouteObject[],
  ctx: AttachContext,
  input: Pick<GatewayInput, 'referenceGrants' | 'services'>,
): TlsAttachment {
  const services = new Map(input.services.map((s) => [objectKey(s), s]));
  const status: TlsAttachment['status'] = new Map();
  const hosts: TlsAttachment['hosts'] = new Map();
  const backends = new Map<string, GatewayBackendRef>();
  for (const route of [...routes].sort(compareAge)) {
    const key = objectKey(route);
    let parsed: ParsedTlsRoute | undefined;
    const parse = (): ParsedTlsRoute => (parsed ??= parseTlsRoute(route, input, services));
    const parents = attachRoute(route, 'TLSRoute', ctx, parse, (l, names) => {
      const p = parse();
      let byHost = hosts.get(l);
      if (!byHost) hosts.set(l, (byHost = new Map()));
      for (const host of names)
        if (!byHost.has(host)) byHost.set(host, { host, route: key, backends: p.weighted });
      for (const b of p.backends) backends.set(b.id, b);
    });
    if (parents.length > 0) status.set(key, parents);
  }
  return {
    status,
    hosts,
    backends: [...backends.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  };
}
