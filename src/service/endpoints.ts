// The one endpoint-readiness rule, and the per-Service endpoint summary the speaker elects from. The ingress
// and the speaker both count endpoints through endpointUsable, so they never disagree about a backend.

/** EndpointConditions are EndpointSlice endpoint conditions (nil fields mean "unknown", as in the API). */
export interface EndpointConditions {
  ready?: boolean | null;
  serving?: boolean | null;
  terminating?: boolean | null;
}

/**
 * endpointUsable says whether an endpoint takes traffic: ready (nil counts as ready, as the API defines), or
 * still serving while terminating (as kube-proxy does during a graceful shutdown).
 */
export function endpointUsable(c: EndpointConditions | null | undefined): boolean {
  return c?.ready !== false || (c?.serving === true && c?.terminating === true);
}

/** SliceView is the part of an EndpointSlice the summary reads. */
export interface SliceView {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  endpoints?: { nodeName?: string; conditions?: EndpointConditions | null }[] | null;
}

/** ServiceEndpoints summarises a Service's usable endpoints: any at all, and the nodes that host one. */
export interface ServiceEndpoints {
  ready: boolean;
  nodes: Set<string>;
}

/** SERVICE_NAME_LABEL links an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * summariseEndpoints groups EndpointSlices by Service key ("namespace/name") and reports, per Service, whether
 * any endpoint is usable and which nodes host one. Slices without a Service label are skipped. O(endpoints).
 */
export function summariseEndpoints(slices: Iterable<SliceView>): Map<string, ServiceEndpoints> {
  const out = new Map<string, ServiceEndpoints>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const key = `${s.metadata?.namespace}/${svc}`;
    const e = out.get(key) ?? { ready: false, nodes: new Set<string>() };
    for (const ep of s.endpoints ?? []) {
      if (!endpointUsable(ep.conditions)) continue;
      e.ready = true;
      if (ep.nodeName) e.nodes.add(ep.nodeName);
    }
    out.set(key, e);
  }
  return out;
}
