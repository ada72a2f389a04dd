// The speaker's inputs, interpreted once in the core: Services with addresses, their endpoints, the Nodes.
// The speaker hands raw (Kubernetes-shaped) objects in and gets the views every announcer plans from, so
// the L2 and BGP plans always see the same world and the readiness rule is the one in src/service/endpoints.
import type { Config } from '../config/model.ts';
import { summariseEndpoints, type SliceView } from '../service/endpoints.ts';
import { isOurs } from '../service/view.ts';
import { isJsonObject, pickDefined, type JsonObject } from '../util/pick.ts';
import type { AnnounceNode, AnnounceService } from './l2plan.ts';

/** SpeakerSnapshot is everything a plan depends on, taken at one moment. */
export interface SpeakerSnapshot {
  services: readonly AnnounceService[];
  nodes: readonly AnnounceNode[];
  /** alive: speakers this speaker hears (itself included). */
  alive: ReadonlySet<string>;
  config: Config;
}

/** NodeObject is the part of a core/v1 Node the snapshot reads. */
export interface NodeObject {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: {
    conditions?: { type: string; status: string }[];
    addresses?: { type: string; address: string }[];
  };
}

/** ServiceObject is the part of a core/v1 Service the snapshot reads. */
export interface ServiceObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { type?: string; loadBalancerClass?: string; externalTrafficPolicy?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

/**
 * SLIM_SERVICE_METADATA: what serviceViews reads (name, namespace, labels) and what the speaker's Events and
 * AddressConflict condition name (uid, generation), with the version.
 */
const SLIM_SERVICE_METADATA = [
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'labels',
] as const;
/** SLIM_SERVICE_SPEC: the spec fields serviceViews reads. */
const SLIM_SERVICE_SPEC = ['type', 'loadBalancerClass', 'externalTrafficPolicy'] as const;

/**
 * slimSpeakerService returns the part of a Service-shaped object the speaker reads, for its cache: metadata
 * identity, version, generation and labels, spec.type, loadBalancerClass and externalTrafficPolicy, and the ip
 * of each status.loadBalancer.ingress entry. Everything else (annotations, managedFields, ports, selector,
 * cluster IPs, conditions, …) is dropped: the speaker caches every Service of the cluster, of any type.
 * serviceViews gives the same views of the result as of the original. Values are shared with the argument,
 * not copied. O(size of the object).
 */
export function slimSpeakerService<T>(svc: T): T {
  if (!isJsonObject(svc)) return svc;
  const out = pickDefined(svc, ['apiVersion', 'kind']);
  if (isJsonObject(svc.metadata)) out.metadata = pickDefined(svc.metadata, SLIM_SERVICE_METADATA);
  if (isJsonObject(svc.spec)) out.spec = pickDefined(svc.spec, SLIM_SERVICE_SPEC);
  if (isJsonObject(svc.status)) {
    const lb = svc.status.loadBalancer;
    const slimLb: JsonObject = {};
    if (isJsonObject(lb) && Array.isArray(lb.ingress))
      slimLb.ingress = lb.ingress.map((i) => (isJsonObject(i) ? pickDefined(i, ['ip']) : i));
    out.status = isJsonObject(lb) ? { loadBalancer: slimLb } : {};
  }
  return out as T;
}

/** nodeViews turns Nodes into what the election reads (name, labels, NetworkUnavailable). O(nodes). */
export function nodeViews(nodes: readonly NodeObject[]): AnnounceNode[] {
  return nodes.map((n) => ({
    name: n.metadata?.name ?? '',
    labels: n.metadata?.labels ?? {},
    networkUnavailable: (n.status?.conditions ?? []).some(
      (c) => c.type === 'NetworkUnavailable' && c.status === 'True',
    ),
  }));
}

/**
 * serviceViews keeps the LoadBalancer Services of our class that hold an address and joins each with its
 * endpoints (any usable; nodes that host one). O(services + endpoints).
 */
export function serviceViews(
  services: readonly ServiceObject[],
  slices: Iterable<SliceView>,
  lbClass: string | undefined,
): AnnounceService[] {
  const endpoints = summariseEndpoints(slices);
  const out: AnnounceService[] = [];
  for (const svc of services) {
    if (
      svc.spec?.type !== 'LoadBalancer' ||
      !isOurs({ loadBalancerClass: svc.spec?.loadBalancerClass }, lbClass)
    )
      continue;
    const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);
    if (ips.length === 0) continue;
    const key = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
    const e = endpoints.get(key);
    out.push({
      key,
      labels: svc.metadata?.labels ?? {},
      ips,
      externalTrafficPolicy: svc.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
      hasReadyEndpoints: e?.ready ?? false,
      localEndpointNodes: e?.nodes ?? new Set(),
    });
  }
  return out;
}

/** peerAddresses lists the InternalIP of every Node but self: where liveness heartbeats go. */
export function peerAddresses(
  nodes: readonly NodeObject[],
  self: string,
): { node: string; address: string }[] {
  return nodes
    .filter((n) => n.metadata?.name !== self)
    .flatMap((n) => {
      const a = (n.status?.addresses ?? []).find((x) => x.type === 'InternalIP');
      return a ? [{ node: n.metadata?.name ?? '', address: a.address }] : [];
    });
}
