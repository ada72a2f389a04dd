// What one speaker announces in BGP mode, and to whom: the BGP sessions this node opens (BGPPeers whose
// nodeSelectors match it) and, for every LoadBalancer Service with addresses, whether this node advertises it
// and with which path attributes. Unlike L2 there is no election: every eligible node advertises (ETP Cluster)
// and the router spreads traffic over them by ECMP; with ETP Local only nodes hosting a ready endpoint do.
// Pure; the speaker (speaker/bgp-speaker.ts) turns the plan into gobgpd calls.
import type { BfdProfile, BgpAdvertisement, Config, Peer } from '../config/model.ts';
import { anySelectorMatches } from '../config/selector.ts';
import { EXCLUDE_FROM_LB_LABEL } from '../election/election.ts';
import { wireCommunities } from '../bgp/community.ts';
import { buildPathSpec, mergePathSpecs, type PathParams, type PathSpec } from '../bgp/path.ts';
import type { GlobalSpec, PeerSpec } from '../bgp/peer.ts';
import { formatPrefix, parseIPAddress, type AddressFamily } from '../bgp/prefix.ts';
import { poolOfAddress, type AnnounceNode, type AnnounceService } from './l2plan.ts';

/** BgpPlanInput is everything the BGP plan depends on. */
export interface BgpPlanInput {
  self: string;
  services: readonly AnnounceService[];
  nodes: readonly AnnounceNode[];
  /** alive: speakers seen alive by this speaker (itself included). */
  alive: ReadonlySet<string>;
  config: Config;
  /** routerId: this node's IPv4 InternalIP, the BGP identifier unless a BGPPeer sets routerID. */
  routerId?: string;
  /** ignoreExcludeLabel: do not honour node.kubernetes.io/exclude-from-external-load-balancers (MetalLB flag). */
  ignoreExcludeLabel?: boolean;
}

/**
 * PlannedPeer is one session this node opens: the BGPPeer's name, the gobgpd PeerSpec, whether it is iBGP
 * (LOCAL_PREF only travels there), and its BFD profile when the BGPPeer names one.
 */
export interface PlannedPeer {
  name: string;
  spec: PeerSpec;
  ibgp: boolean;
  family: AddressFamily;
  bfdProfile?: BfdProfile;
}

/** PeerSkipReason names why a BGPPeer selecting this node gets no session. */
export type PeerSkipReason =
  'duplicateAddress' | 'holdTimeZeroUnsupported' | 'vrfUnsupported' | 'invalidPeer';

/** SkippedPeer is a BGPPeer that selects this node but cannot be opened, with the reason and a message. */
export interface SkippedPeer {
  name: string;
  reason: PeerSkipReason;
  message: string;
}

/** BgpNotAnnouncedReason names why this node does not advertise a Service, in the order they are checked. */
export type BgpNotAnnouncedReason =
  | 'noPool'
  | 'noBGPAdvertisement'
  | 'nodeUnknown'
  | 'excludedByLabel'
  | 'networkUnavailable'
  | 'speakerDown'
  | 'nodeNotSelected'
  | 'noPeers'
  | 'noLocalEndpoints'
  | 'noReadyEndpoints';

/** BgpDecision is this node's answer for one Service: advertise to these peers (BGPPeer names), or why not. */
export type BgpDecision =
  { announce: true; peers: string[] } | { announce: false; reason: BgpNotAnnouncedReason };

/** ServiceBgpPlan is the answer for one Service: its pool, the BGPAdvertisements covering it, the decision. */
export interface ServiceBgpPlan {
  key: string;
  ips: string[];
  pool?: string;
  /** advertisements: BGPAdvertisements covering the Service's pool and selecting the Service, by name. */
  advertisements: string[];
  decision: BgpDecision;
}

/**
 * PlannedPath is one prefix this node originates: the merged PathSpec (one per prefix: several Services under
 * one aggregate, or several advertisements, unite their communities and take the highest LOCAL_PREF), the
 * peers (BGPPeer names) that should receive it, and the Services behind it.
 */
export interface PlannedPath {
  spec: PathSpec;
  peers: string[];
  services: string[];
}

/** BgpPlan is the plan for this node: gobgpd's global settings, sessions, paths, and a decision per Service. */
export interface BgpPlan {
  /** global is undefined when no BGPPeer selects this node (gobgpd need not run). */
  global?: GlobalSpec;
  /** peers sorted by address. */
  peers: PlannedPeer[];
  skippedPeers: SkippedPeer[];
  /** paths sorted by prefix. */
  paths: PlannedPath[];
  services: ServiceBgpPlan[];
  /** problems: node-wide reasons BGP cannot run as configured (e.g. no router ID). */
  problems: string[];
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** isIBGP reports whether a BGPPeer's session is internal (same ASN, or dynamicASN "internal"). */
export function isIBGP(peer: Peer): boolean {
  return peer.peerASN !== undefined ? peer.peerASN === peer.myASN : peer.dynamicASN === 'internal';
}

/**
 * peerSpecOf turns a BGPPeer into the gobgpd session spec. The session carries the family of the peer's
 * address (an IPv4 session IPv4 prefixes, an IPv6 one IPv6 prefixes), so the next hop is always the node's
 * own address of that family. dynamicASN "internal" becomes myASN; "external" becomes 0 (gobgpd accepts the
 * ASN the router sends). Keepalives shorter than a second become one second.
 */
export function peerSpecOf(peer: Peer): PeerSpec {
  const family = parseIPAddress(peer.address).family;
  const peerASN = peer.peerASN ?? (peer.dynamicASN === 'internal' ? peer.myASN : 0);
  const spec: PeerSpec = {
    address: peer.address,
    port: peer.port,
    peerASN,
    myASN: peer.myASN,
    holdTime: peer.holdTime,
    keepaliveTime: Math.min(peer.holdTime, Math.max(1, peer.keepaliveTime)),
    connectTime: peer.connectTime,
    families: { ipv4: family === 'ipv4', ipv6: family === 'ipv6' },
    description: peer.name,
    ...(peer.ebgpMultiHop ? { ebgpMultiHop: true } : {}),
    ...(peer.password !== undefined ? { password: peer.password } : {}),
    ...(peer.sourceAddress !== undefined ? { sourceAddress: peer.sourceAddress } : {}),
    ...(peer.enableGracefulRestart ? { gracefulRestart: true } : {}),
  };
  return spec;
}

function planPeers(
  config: Config,
  selfNode: AnnounceNode | undefined,
): { peers: PlannedPeer[]; skipped: SkippedPeer[] } {
  const peers: PlannedPeer[] = [];
  const skipped: SkippedPeer[] = [];
  if (!selfNode) return { peers, skipped };
  const byAddress = new Map<string, string>();
  for (const peer of [...config.peers].sort(byName)) {
    if (!anySelectorMatches(peer.nodeSelectors, selfNode.labels)) continue;
    const skip = (reason: PeerSkipReason, message: string) =>
      skipped.push({ name: peer.name, reason, message: `BGPPeer "${peer.name}": ${message}` });
    if (peer.vrf !== undefined && peer.vrf !== '') {
      skip('vrfUnsupported', `vrf "${peer.vrf}" is not supported by the gobgpd speaker`);
      continue;
    }
    if (peer.holdTime === 0) {
      skip(
        'holdTimeZeroUnsupported',
        'holdTime 0 (no keepalives) is not supported by the gobgpd speaker: use at least 3s',
      );
      continue;
    }
    const other = byAddress.get(peer.address);
    if (other !== undefined) {
      skip(
        'duplicateAddress',
        `peer address "${peer.address}" is already used by BGPPeer "${other}" on this node`,
      );
      continue;
    }
    let family: AddressFamily;
    try {
      family = parseIPAddress(peer.address).family;
    } catch (e) {
      skip('invalidPeer', (e as Error).message);
      continue;
    }
    byAddress.set(peer.address, peer.name);
    const planned: PlannedPeer = { name: peer.name, spec: peerSpecOf(peer), ibgp: isIBGP(peer), family };
    const bfd = peer.bfdProfile !== undefined ? config.bfdProfiles.get(peer.bfdProfile) : undefined;
    if (bfd) planned.bfdProfile = bfd;
    peers.push(planned);
  }
  peers.sort((a, b) => compareAddresses(a.spec.address, b.spec.address));
  return { peers, skipped };
}

function compareAddresses(a: string, b: string): number {
  const x = parseIPAddress(a);
  const y = parseIPAddress(b);
  if (x.family !== y.family) return x.family === 'ipv4' ? -1 : 1;
  return x.value < y.value ? -1 : x.value > y.value ? 1 : 0;
}

/** bgpAdvertisementsFor returns the BGPAdvertisements that cover a pool and select the Service, by name. */
export function bgpAdvertisementsFor(
  config: Config,
  pool: string,
  serviceLabels: Readonly<Record<string, string>>,
): BgpAdvertisement[] {
  return config.bgpAdvertisements
    .filter((a) => a.pools.includes(pool) && anySelectorMatches(a.serviceSelectors, serviceLabels))
    .sort(byName);
}

/** pathParamsOf converts an advertisement's attributes into the path builder's parameters. */
export function pathParamsOf(adv: BgpAdvertisement): PathParams {
  return {
    aggregationLength: adv.aggregationLength,
    aggregationLengthV6: adv.aggregationLengthV6,
    ...wireCommunities(adv.communities),
    ...(adv.localPref !== undefined ? { localPref: adv.localPref } : {}),
  };
}

function selfExclusion(
  input: BgpPlanInput,
  selfNode: AnnounceNode | undefined,
): BgpNotAnnouncedReason | undefined {
  if (!selfNode) return 'nodeUnknown';
  if (!input.ignoreExcludeLabel && Object.hasOwn(selfNode.labels, EXCLUDE_FROM_LB_LABEL))
    return 'excludedByLabel';
  if (selfNode.networkUnavailable) return 'networkUnavailable';
  if (!input.alive.has(input.self)) return 'speakerDown';
  return undefined;
}

interface Announcement {
  service: string;
  spec: PathSpec;
  peers: readonly string[];
}

/**
 * planBgp computes this node's BGP plan. Checks per Service, in order (the first that fails is the reason):
 * its address lies in a pool (noPool); a BGPAdvertisement covers the pool and selects the Service
 * (noBGPAdvertisement); this node is known, not excluded by label, has its network and a live speaker
 * (nodeUnknown, excludedByLabel, networkUnavailable, speakerDown); one of those advertisements selects this node
 * (nodeNotSelected); a session of the address's family is left after the advertisements' `peers` (noPeers);
 * with ETP Local a ready endpoint runs here (noLocalEndpoints); with ETP Cluster one runs anywhere
 * (noReadyEndpoints). Each address is then aggregated per advertisement (aggregationLength/V6), with its
 * communities and LOCAL_PREF (kept only when an iBGP peer receives it). Paths for the same prefix are merged;
 * their peers united. Deterministic: the same inputs give the same plan. Cost O(S · (A + P + R)) for S Services,
 * A advertisements, P peers, R pool ranges, plus O(n log n) sorting.
 */
export function planBgp(input: BgpPlanInput): BgpPlan {
  const selfNode = input.nodes.find((n) => n.name === input.self);
  const { peers, skipped } = planPeers(input.config, selfNode);
  const peerByName = new Map(peers.map((p) => [p.name, p]));
  const exclusion = selfExclusion(input, selfNode);
  const services: ServiceBgpPlan[] = [];
  const announcements: Announcement[] = [];
  const sorted = [...input.services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const svc of sorted) {
    if (svc.ips.length === 0) continue;
    const ips = [...svc.ips];
    const pool = poolOfAddress(input.config, ips[0] as string);
    if (pool === undefined) {
      services.push({ key: svc.key, ips, advertisements: [], decision: no('noPool') });
      continue;
    }
    const advs = bgpAdvertisementsFor(input.config, pool, svc.labels);
    const base = { key: svc.key, ips, pool, advertisements: advs.map((a) => a.name) };
    const decide = (reason: BgpNotAnnouncedReason) => services.push({ ...base, decision: no(reason) });
    if (advs.length === 0) {
      decide('noBGPAdvertisement');
      continue;
    }
    if (exclusion !== undefined) {
      decide(exclusion);
      continue;
    }
    const mine = advs.filter((a) => anySelectorMatches(a.nodeSelectors, selfNode?.labels ?? {}));
    if (mine.length === 0) {
      decide('nodeNotSelected');
      continue;
    }
    const pending: Announcement[] = [];
    for (const ip of ips) {
      let family: AddressFamily;
      try {
        family = parseIPAddress(ip).family;
      } catch {
        continue;
      }
      for (const adv of mine) {
        const to = peers.filter(
          (p) => p.family === family && (adv.peers.length === 0 || adv.peers.includes(p.name)),
        );
        if (to.length === 0) continue;
        const spec = buildPathSpec(ip, pathParamsOf(adv), { towardIBGP: to.some((p) => p.ibgp) });
        pending.push({ service: svc.key, spec, peers: to.map((p) => p.name) });
      }
    }
    if (pending.length === 0) {
      decide('noPeers');
      continue;
    }
    if (svc.externalTrafficPolicy === 'Local' && !svc.localEndpointNodes.has(input.self)) {
      decide('noLocalEndpoints');
      continue;
    }
    if (!svc.hasReadyEndpoints) {
      decide('noReadyEndpoints');
      continue;
    }
    const to = [...new Set(pending.flatMap((a) => a.peers))].sort();
    services.push({ ...base, decision: { announce: true, peers: to } });
    announcements.push(...pending);
  }
  const plan: BgpPlan = {
    peers,
    skippedPeers: skipped,
    paths: mergeAnnouncements(announcements, peerByName),
    services,
    problems: [],
  };
  const global = globalOf(input, peers);
  if (typeof global === 'string') plan.problems.push(global);
  else if (global) plan.global = global;
  return plan;
}

function no(reason: BgpNotAnnouncedReason): BgpDecision {
  return { announce: false, reason };
}

function mergeAnnouncements(
  announcements: readonly Announcement[],
  peers: ReadonlyMap<string, PlannedPeer>,
): PlannedPath[] {
  const byPrefix = new Map<string, Announcement[]>();
  for (const a of announcements) {
    const id = formatPrefix(a.spec.prefix);
    const list = byPrefix.get(id);
    if (list) list.push(a);
    else byPrefix.set(id, [a]);
  }
  const paths: PlannedPath[] = [];
  for (const group of byPrefix.values()) {
    const [spec] = mergePathSpecs(group.map((a) => a.spec));
    if (!spec) continue;
    const to = [...new Set(group.flatMap((a) => a.peers))].sort();
    // LOCAL_PREF went in when one advertisement had an iBGP peer; drop it when no receiver is iBGP at all
    const ibgp = to.some((name) => peers.get(name)?.ibgp === true);
    const { localPref, ...rest } = spec;
    paths.push({
      spec: ibgp && localPref !== undefined ? { ...rest, localPref } : rest,
      peers: to,
      services: [...new Set(group.map((a) => a.service))].sort(),
    });
  }
  return paths.sort(
    (a, b) =>
      compareAddresses(a.spec.prefix.address, b.spec.prefix.address) ||
      a.spec.prefix.length - b.spec.prefix.length,
  );
}

// gobgpd has one router ID and one default ASN: the first BGPPeer (by name) that sets routerID gives the ID,
// else the node's IPv4 address; the ASN is the first BGPPeer's myASN (each session sets its own local ASN).
function globalOf(input: BgpPlanInput, peers: readonly PlannedPeer[]): GlobalSpec | string | undefined {
  const named = [...peers].sort(byName);
  const first = named[0];
  if (!first) return undefined;
  const configured = named
    .map((p) => input.config.peers.find((c) => c.name === p.name)?.routerID)
    .find((id) => id !== undefined);
  const routerId = configured ?? input.routerId;
  if (routerId === undefined) {
    return `node "${input.self}" has no IPv4 InternalIP and no BGPPeer sets routerID: no BGP router ID`;
  }
  return { asn: first.spec.myASN, routerId };
}
