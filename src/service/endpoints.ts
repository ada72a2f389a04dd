// The one endpoint-readiness rule, and the per-Service endpoint summary the speaker elects from. The ingress
// and the speaker both count endpoints through endpointUsable, so they never disagree about a backend.
import { isJsonObject, pickDefined } from '../util/pick.ts';

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

/** SLIM_SLICE_METADATA: identity and version; of the labels only SERVICE_NAME_LABEL is kept. */
const SLIM_SLICE_METADATA = ['name', 'namespace', 'uid', 'resourceVersion'] as const;
/** SLIM_ENDPOINT: per endpoint what summariseEndpoints reads, and the addresses (required by the API type). */
const SLIM_ENDPOINT = ['addresses', 'conditions', 'nodeName'] as const;

/**
 * slimEndpointSlice returns the part of an EndpointSlice-shaped object the speaker reads, for its cache:
 * metadata identity and version, the SERVICE_NAME_LABEL label, addressType and, per endpoint, its addresses,
 * conditions and nodeName. Dropped: other labels and annotations, managedFields, ownerReferences, ports, and
 * per endpoint targetRef, zone, hints and hostname (targetRef alone is five strings per endpoint).
 * summariseEndpoints gives the same summary of the result as of the original. Values are shared with the
 * argument, not copied. O(size of the object).
 */
export function slimEndpointSlice<T>(slice: T): T {
  if (!isJsonObject(slice)) return slice;
  const out = pickDefined(slice, ['apiVersion', 'kind', 'addressType']);
  const m = slice.metadata;
  if (isJsonObject(m)) {
    const meta = pickDefined(m, SLIM_SLICE_METADATA);
    const svc = isJsonObject(m.labels) ? m.labels[SERVICE_NAME_LABEL] : undefined;
    if (svc !== undefined) meta.labels = { [SERVICE_NAME_LABEL]: svc };
    out.metadata = meta;
  }
  if (Array.isArray(slice.endpoints))
    out.endpoints = slice.endpoints.map((ep) => (isJsonObject(ep) ? pickDefined(ep, SLIM_ENDPOINT) : ep));
  else if (slice.endpoints !== undefined) out.endpoints = slice.endpoints;
  return out as T;
}
