// GRPCRoute in the Gateway API core. A gRPC call is an HTTP/2 POST to `/<service>/<method>`, so a GRPCRoute is
// read as the HTTPRoute it means (method matches become path matches, headers and filters are the same) and
// goes through the same builder, with three differences the builder applies from here: its rules carry the
// gRPC precedence (characters of the matched service, then method, then header matches), its backends are
// spoken to over HTTP/2 (h2c), and a rule with no valid backend answers 503 (gRPC UNAVAILABLE), not 500.
import type {
  HTTPBackendRefObject,
  HTTPRouteFilterObject,
  HTTPRouteMatchObject,
  HTTPRouteObject,
  ObjectRef,
  RouteParentStatusObject,
  ValueMatchObject,
} from './types.ts';
import type { ObjectMetaView } from '../ingress/types.ts';

/** GRPCMethodMatchObject is a GRPCMethodMatch (type Exact or RegularExpression). */
export interface GRPCMethodMatchObject {
  type?: string;
  service?: string;
  method?: string;
}

/** GRPCRouteMatchObject is one `rules[].matches[]` entry of a GRPCRoute. */
export interface GRPCRouteMatchObject {
  method?: GRPCMethodMatchObject;
  headers?: ValueMatchObject[];
}

/** GRPCRouteRuleObject is one `spec.rules[]` entry of a GRPCRoute. */
export interface GRPCRouteRuleObject {
  name?: string;
  matches?: GRPCRouteMatchObject[];
  filters?: HTTPRouteFilterObject[];
  backendRefs?: HTTPBackendRefObject[];
  sessionPersistence?: unknown;
}

/** GRPCRouteObject is a GRPCRoute (gateway.networking.k8s.io/v1). */
export interface GRPCRouteObject {
  metadata?: ObjectMetaView & { generation?: number };
  spec?: { parentRefs?: ObjectRef[]; hostnames?: string[]; rules?: GRPCRouteRuleObject[] };
  status?: { parents?: RouteParentStatusObject[] };
}

/** GrpcPrecedence is what orders the rules of GRPCRoutes on one hostname (longer first). */
export interface GrpcPrecedence {
  service: number;
  method: number;
}

/** GRPC_FILTERS are the GRPCRoute filter types the data plane applies. */
const GRPC_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror']);

/** NAME is what an Exact service or method may hold: no "/" (the spec), nothing that needs escaping in a path. */
const NAME = /^[A-Za-z0-9_.-]+$/;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * grpcMethodPath returns the HTTPRoute path match a GRPCMethodMatch means, or why it cannot be served:
 * service and method → Exact `/service/method`; service only → PathPrefix `/service`; method only (or
 * RegularExpression) → a regular expression over the whole path, `[^/]+` for the part left out.
 */
export function grpcMethodPath(m: GRPCMethodMatchObject | undefined): HTTPRouteMatchObject['path'] | string {
  if (!m) return { type: 'PathPrefix', value: '/' };
  const service = m.service ?? '';
  const method = m.method ?? '';
  if (service === '' && method === '') return 'a method match needs a service or a method';
  const type = m.type ?? 'Exact';
  if (type === 'Exact') {
    for (const [what, v] of [
      ['service', service],
      ['method', method],
    ] as const)
      if (v !== '' && !NAME.test(v))
        return `${what} "${v}" is not a gRPC name (letters, digits, "_", "." and "-")`;
    if (service !== '' && method !== '') return { type: 'Exact', value: `/${service}/${method}` };
    if (service !== '') return { type: 'PathPrefix', value: `/${service}` };
    return { type: 'RegularExpression', value: `/[^/]+/${escapeRegex(method)}` };
  }
  if (type === 'RegularExpression') {
    for (const [what, v] of [
      ['service', service],
      ['method', method],
    ] as const) {
      if (v.includes('/')) return `${what} regular expression "${v}" must not match "/"`;
      try {
        new RegExp(v);
      } catch (err) {
        return `${what} "${v}" is not a valid regular expression (${(err as Error).message})`;
      }
    }
    return {
      type: 'RegularExpression',
      value: `/(?:${service === '' ? '[^/]+' : service})/(?:${method === '' ? '[^/]+' : method})`,
    };
  }
  return `method match type "${type}" is not supported`;
}

/** GrpcAsHttp is a GRPCRoute read as an HTTPRoute, with what it asks for that cannot be served. */
export interface GrpcAsHttp {
  route: HTTPRouteObject;
  unsupported: string[];
}

/**
 * grpcRouteAsHttp reads a GRPCRoute as the HTTPRoute it means (same metadata, parents and hostnames; rules with
 * path matches for its method matches). A match that cannot be served is left out and named in `unsupported`
 * (the builder then refuses the route with UnsupportedValue); so is a filter type GRPCRoute does not have.
 */
export function grpcRouteAsHttp(route: GRPCRouteObject): GrpcAsHttp {
  const unsupported: string[] = [];
  const rules = (route.spec?.rules ?? []).map((rule, ri) => {
    for (const f of rule.filters ?? [])
      if (!GRPC_FILTERS.has(f.type ?? ''))
        unsupported.push(`rule ${ri}: filter type "${f.type ?? ''}" is not supported`);
    const matches: HTTPRouteMatchObject[] = [];
    (rule.matches ?? []).forEach((m, mi) => {
      const path = grpcMethodPath(m.method);
      if (typeof path === 'string') {
        unsupported.push(`rule ${ri} match ${mi}: ${path}`);
        return;
      }
      matches.push({ path, ...(m.headers ? { headers: m.headers } : {}) });
    });
    return {
      ...(rule.name !== undefined ? { name: rule.name } : {}),
      ...(matches.length > 0 ? { matches } : {}),
      filters: (rule.filters ?? []).filter((f) => GRPC_FILTERS.has(f.type ?? '')),
      ...(rule.backendRefs ? { backendRefs: rule.backendRefs } : {}),
    };
  });
  return {
    route: {
      ...(route.metadata ? { metadata: route.metadata } : {}),
      spec: {
        ...(route.spec?.parentRefs ? { parentRefs: route.spec.parentRefs } : {}),
        ...(route.spec?.hostnames ? { hostnames: route.spec.hostnames } : {}),
        rules,
      },
    },
    unsupported,
  };
}

/**
 * grpcPrecedence is the spec's weight of match `mi` of rule `ri` (the index among the matches kept by
 * grpcRouteAsHttp): characters of the service and of the method it matches (a regular expression counts its
 * length); 0 and 0 for a rule that matches every call.
 */
export function grpcPrecedence(route: GRPCRouteObject, ri: number, mi: number): GrpcPrecedence {
  const kept = (route.spec?.rules?.[ri]?.matches ?? []).filter(
    (m) => typeof grpcMethodPath(m.method) !== 'string',
  );
  const m = kept[mi]?.method;
  return { service: m?.service?.length ?? 0, method: m?.method?.length ?? 0 };
}
