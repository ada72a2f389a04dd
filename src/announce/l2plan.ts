// What one speaker announces in L2 mode, and why: for every LoadBalancer Service with addresses, find the pool
// its address belongs to, the L2Advertisements that cover that pool and Service, elect the announcer among the
// live eligible nodes, and, where this node wins, on which interfaces to answer. Pure.
import { tryParseAddress } from '../address/address.ts';
import type { Config, L2Advertisement } from '../config/model.ts';
import { anySelectorMatches } from '../config/selector.ts';
import {
  EXCLUDE_FROM_LB_LABEL,
  electAll,
  electionKey,
  shouldAnnounce,
  type AnnounceDecision,
  type ElectionInput,
  type ElectionMode,
  type ElectionResult,
} from '../election/election.ts';

/** AnnounceService is a Service as the speaker needs it. */
export interface AnnounceService {
  key: string;
  labels: Readonly<Record<string, string>>;
  /** ips from status.loadBalancer.ingress, in order. */
  ips: readonly string[];
  externalTrafficPolicy: 'Cluster' | 'Local';
  hasReadyEndpoints: boolean;
  /** localEndpointNodes: nodes hosting a ready (or serving) endpoint of the Service. */
  localEndpointNodes: ReadonlySet<string>;
}

/** AnnounceNode is a Node as the election needs it. */
export interface AnnounceNode {
  name: string;
  labels: Readonly<Record<string, string>>;
  networkUnavailable: boolean;
}

/** L2PlanInput is everything the plan depends on. */
export interface L2PlanInput {
  self: string;
  services: readonly AnnounceService[];
  nodes: readonly AnnounceNode[];
  /** alive: speakers seen alive by this speaker (itself included). */
  alive: ReadonlySet<string>;
  config: Config;
  mode?: ElectionMode;
  /** ignoreExcludeLabel: do not honour node.kubernetes.io/exclude-from-external-load-balancers (MetalLB flag). */
  ignoreExcludeLabel?: boolean;
}

/** NotAnnouncedReason adds the reasons that come before any election. */
export type L2Decision = AnnounceDecision | { announce: false; reason: 'noPool' | 'noL2Advertisement' };

/** ServiceL2Plan is the answer for one Service: its pool, advertisements, election and this node's decision. */
export interface ServiceL2Plan {
  key: string;
  ips: string[];
  pool?: string;
  advertisements: string[];
  election?: ElectionResult;
  decision: L2Decision;
  /** interfaces this node answers on for the Service; empty means every eligible interface. */
  interfaces: string[];
}

/** L2Plan is the plan for every Service, plus the addresses this node announces with their interfaces. */
export interface L2Plan {
  services: ServiceL2Plan[];
  /** announce: address → Services using it and interfaces ([] = all). */
  announce: Map<string, { services: string[]; interfaces: string[] }>;
}

/** poolOfAddress returns the pool whose ranges contain ip, or undefined. O(total ranges). */
export function poolOfAddress(config: Config, ip: string): string | undefined {
  const a = tryParseAddress(ip);
  if (!a) return undefined;
  for (const pool of config.pools.values()) {
    for (const r of pool.ranges)
      if (r.family === a.family && a.value >= r.first && a.value <= r.last) return pool.name;
  }
  return undefined;
}

/** advertisementsFor returns the L2Advertisements that cover a pool and select the Service, by name. */
export function advertisementsFor(
  config: Config,
  pool: string,
  serviceLabels: Readonly<Record<string, string>>,
): L2Advertisement[] {
  return config.l2Advertisements
    .filter((a) => a.pools.includes(pool) && anySelectorMatches(a.serviceSelectors, serviceLabels))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * planL2 computes the L2 plan. Every speaker computing it from the same inputs gets the same elections, so
 * exactly one live node announces each address. Cost: O(S · (P + N log N)) for S Services, P pool ranges, N nodes.
 */
export function planL2(input: L2PlanInput): L2Plan {
  const selfNode = input.nodes.find((n) => n.name === input.self);
  const pre: { svc: AnnounceService; pool?: string; advs: L2Advertisement[]; election?: ElectionInput }[] =
    [];
  for (const svc of [...input.services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    if (svc.ips.length === 0) continue;
    const pool = poolOfAddress(input.config, svc.ips[0] as string);
    if (!pool) {
      pre.push({ svc, advs: [] });
      continue;
    }
    const advs = advertisementsFor(input.config, pool, svc.labels);
    if (advs.length === 0) {
      pre.push({ svc, pool, advs });
      continue;
    }
    const election: ElectionInput = {
      ips: svc.ips,
      externalTrafficPolicy: svc.externalTrafficPolicy,
      hasReadyEndpoints: svc.hasReadyEndpoints,
      advertisements: advs.map((a) => ({ nodeSelectors: a.nodeSelectors })),
      nodes: input.nodes.map((n) => ({
        name: n.name,
        labels: n.labels,
        speakerAlive: input.alive.has(n.name),
        excludedByLabel: !input.ignoreExcludeLabel && Object.hasOwn(n.labels, EXCLUDE_FROM_LB_LABEL),
        networkUnavailable: n.networkUnavailable,
        hasLocalReadyEndpoint: svc.localEndpointNodes.has(n.name),
      })),
    };
    pre.push({ svc, pool, advs, election });
  }
  const results = electAll(
    pre.flatMap((p) => (p.election ? [p.election] : [])),
    { mode: input.mode ?? 'evenSpread' },
  );
  const services: ServiceL2Plan[] = [];
  const announce = new Map<string, { services: string[]; interfaces: string[] }>();
  for (const p of pre) {
    const ips = [...p.svc.ips];
    const base = {
      key: p.svc.key,
      ips,
      advertisements: p.advs.map((a) => a.name),
      interfaces: [] as string[],
    };
    if (!p.pool) {
      services.push({ ...base, decision: { announce: false, reason: 'noPool' } });
      continue;
    }
    if (!p.election) {
      services.push({ ...base, pool: p.pool, decision: { announce: false, reason: 'noL2Advertisement' } });
      continue;
    }
    const key = electionKey(p.election.ips);
    const election = key === undefined ? undefined : results.get(key);
    const decision = shouldAnnounce(election, input.self);
    const mine = selfNode ? p.advs.filter((a) => anySelectorMatches(a.nodeSelectors, selfNode.labels)) : [];
    const interfaces = mine.some((a) => a.interfaces.length === 0)
      ? []
      : [...new Set(mine.flatMap((a) => a.interfaces))].sort();
    services.push({ ...base, pool: p.pool, interfaces, decision, ...(election ? { election } : {}) });
    if (!decision.announce) continue;
    for (const ip of ips) {
      const cur = announce.get(ip);
      if (!cur) announce.set(ip, { services: [p.svc.key], interfaces });
      else {
        cur.services.push(p.svc.key);
        // one Service answering on every interface widens the address to every interface
        cur.interfaces =
          cur.interfaces.length === 0 || interfaces.length === 0
            ? []
            : [...new Set([...cur.interfaces, ...interfaces])].sort();
      }
    }
  }
  return { services, announce };
}
