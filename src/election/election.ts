// Announcer election for L2: which node answers ARP/NDP for an address. Pure: every speaker that feeds the
// same inputs computes the same winner, so no coordination is needed beyond sharing the inputs.
import type { LabelSelector } from '../config/model.ts';
import { anySelectorMatches } from '../config/selector.ts';
import { canonicalIP } from '../packet/address.ts';
import { compareBytes, sha256Text } from './sha256.ts';

/** EXCLUDE_FROM_LB_LABEL is the node label that takes a node out of every election (Kubernetes well-known label). */
export const EXCLUDE_FROM_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

/** ElectionNode is one candidate node as the speaker sees it, for one address. */
export interface ElectionNode {
  name: string;
  labels: Readonly<Record<string, string>>;
  /** speakerAlive: a speaker runs on the node and its peers see it alive. */
  speakerAlive: boolean;
  /** excludedByLabel: the node carries EXCLUDE_FROM_LB_LABEL (and the speaker does not ignore it). */
  excludedByLabel: boolean;
  /** networkUnavailable: the node's NetworkUnavailable condition is True. */
  networkUnavailable: boolean;
  /** hasLocalReadyEndpoint: a ready (or serving) endpoint of the Service runs on this node. */
  hasLocalReadyEndpoint: boolean;
}

/** ElectionAdvertisement is the part of an L2Advertisement the election needs. */
export interface ElectionAdvertisement {
  /** nodeSelectors: a node qualifies when any matches; an empty list matches every node (MetalLB). */
  nodeSelectors: readonly LabelSelector[];
}

/** ElectionInput describes one Service's addresses and the nodes that could announce them. */
export interface ElectionInput {
  /** ips: the Service's addresses. The first one is the election key, so a dual-stack Service lands on one node. */
  ips: readonly string[];
  nodes: readonly ElectionNode[];
  /** advertisements: the L2Advertisements that apply to the Service's pool (and the Service). None = no node. */
  advertisements: readonly ElectionAdvertisement[];
  externalTrafficPolicy: 'Cluster' | 'Local';
  /** hasReadyEndpoints: whether the Service has any ready endpoint anywhere; MetalLB announces nothing otherwise. Default true. */
  hasReadyEndpoints?: boolean;
}

/** ExclusionReason names why a node cannot announce an address. */
export type ExclusionReason =
  'speakerDown' | 'excludedByLabel' | 'networkUnavailable' | 'nodeSelectorMismatch' | 'noLocalEndpoint';

/** NodeExclusion says which node was left out and why. */
export interface NodeExclusion {
  node: string;
  reason: ExclusionReason;
}

/** ElectionFailure names why no node announces an address. */
export type ElectionFailure = 'noAddress' | 'noReadyEndpoints' | 'noLocalEndpoints' | 'noEligibleNodes';

/**
 * ElectionResult is the outcome for one election key (canonical first address): the winner and the eligible
 * nodes (winner first, then by preference, i.e. who takes over next under the MetalLB order), or a named
 * failure. excluded lists every other node with its reason, sorted by node name.
 */
export type ElectionResult =
  | { ok: true; key: string; winner: string; order: string[]; excluded: NodeExclusion[] }
  | { ok: false; key: string; reason: ElectionFailure; excluded: NodeExclusion[] };

/** ElectionMode picks the order: MetalLB's exact sha256(node + "#" + ip) order, or IronLB's even spread. */
export type ElectionMode = 'metallb' | 'evenSpread';

/** ElectionOptions tunes electAll. */
export interface ElectionOptions {
  /** mode defaults to "evenSpread". */
  mode?: ElectionMode;
  /**
   * loadFactor (evenSpread only, ≥ 1, default 1) caps each node at ceil(loadFactor × addresses / nodes). 1 gives
   * the tightest spread; larger values move fewer addresses when nodes come and go.
   */
  loadFactor?: number;
}

/** AnnounceDecision is what one speaker does for one address: announce, or a named reason not to. */
export type AnnounceDecision = { announce: true } | { announce: false; reason: 'notOwner' | ElectionFailure };

/** Eligibility is eligibleNodes' answer: the election key, eligible node names, the others with reasons, or a failure. */
export interface Eligibility {
  key: string | undefined;
  /** eligible: nodes that may announce now, sorted by name. */
  eligible: string[];
  /**
   * placeable: nodes the configuration allows (labels, nodeSelectors), whether or not they are up right now:
   * eligible plus those excluded only for a transient reason (speakerDown, networkUnavailable, noLocalEndpoint).
   */
  placeable: string[];
  excluded: NodeExclusion[];
  failure?: ElectionFailure;
}

const TRANSIENT: ReadonlySet<ExclusionReason> = new Set([
  'speakerDown',
  'networkUnavailable',
  'noLocalEndpoint',
]);

/**
 * electionKey returns the canonical text of the first address (what every node hashes), or undefined when the
 * Service has no valid address.
 */
export function electionKey(ips: readonly string[]): string | undefined {
  const first = ips[0];
  return first === undefined ? undefined : canonicalIP(first)?.ip;
}

// Structural reasons come first, so a node reported with a transient reason is one that could announce again
// by coming back, without any configuration change.
function exclusionOf(node: ElectionNode, input: ElectionInput): ExclusionReason | undefined {
  if (node.excludedByLabel) return 'excludedByLabel';
  if (!input.advertisements.some((a) => anySelectorMatches(a.nodeSelectors, node.labels)))
    return 'nodeSelectorMismatch';
  if (!node.speakerAlive) return 'speakerDown';
  if (node.networkUnavailable) return 'networkUnavailable';
  if (input.externalTrafficPolicy === 'Local' && !node.hasLocalReadyEndpoint) return 'noLocalEndpoint';
  return undefined;
}

/**
 * eligibleNodes applies MetalLB's node eligibility (REFERENCE §1) to one input: live speaker, not excluded by
 * label, network available, matches an advertisement's nodeSelectors, and with ETP Local a local ready
 * endpoint. Nodes are deduplicated by name (first wins) and reported sorted by name.
 */
export function eligibleNodes(input: ElectionInput): Eligibility {
  const key = electionKey(input.ips);
  const seen = new Set<string>();
  const eligible: string[] = [];
  const placeable: string[] = [];
  const excluded: NodeExclusion[] = [];
  for (const node of [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (seen.has(node.name)) continue;
    seen.add(node.name);
    const reason = exclusionOf(node, input);
    if (reason) excluded.push({ node: node.name, reason });
    else eligible.push(node.name);
    if (!reason || TRANSIENT.has(reason)) placeable.push(node.name);
  }
  let failure: ElectionFailure | undefined;
  if (key === undefined) failure = 'noAddress';
  else if (input.hasReadyEndpoints === false) failure = 'noReadyEndpoints';
  else if (eligible.length === 0) {
    const onlyEndpoints =
      input.externalTrafficPolicy === 'Local' && excluded.some((e) => e.reason === 'noLocalEndpoint');
    failure = onlyEndpoints ? 'noLocalEndpoints' : 'noEligibleNodes';
  }
  return failure ? { key, eligible, placeable, excluded, failure } : { key, eligible, placeable, excluded };
}

/**
 * metallbOrder sorts nodes by sha256(node + "#" + key) ascending, byte-wise: MetalLB's L2 order, so the first
 * node is the one MetalLB would elect for that address. Cost: one SHA-256 per node.
 */
export function metallbOrder(nodes: readonly string[], key: string): string[] {
  const scored = nodes.map((n) => ({ n, h: sha256Text(`${n}#${key}`) }));
  scored.sort((a, b) => compareBytes(a.h, b.h) || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  return scored.map((s) => s.n);
}

/**
 * electAnnouncer elects MetalLB's way for one Service: the first eligible node in metallbOrder. Use electAll
 * for even spread, which needs every address at once.
 */
export function electAnnouncer(input: ElectionInput): ElectionResult {
  const e = eligibleNodes(input);
  const key = e.key ?? '';
  if (e.failure) return { ok: false, key, reason: e.failure, excluded: e.excluded };
  const order = metallbOrder(e.eligible, key);
  return { ok: true, key, winner: order[0] as string, order, excluded: e.excluded };
}

/**
 * electAll elects an announcer for every address at once and returns the results keyed by election key, in
 * key order. Inputs that share a key (Services sharing an IP) form one election whose eligible nodes are those
 * eligible for every sharer, so one node answers for the address.
 *
 * "metallb" mode is electAnnouncer per key: the first eligible node in metallbOrder.
 *
 * "evenSpread" mode (the default) runs in two steps. (1) Placement: every ETP Cluster address, in sha256(key)
 * order, takes its most preferred (metallbOrder) placeable node whose load is below
 * ceil(loadFactor × addresses / placeable nodes), or the least loaded when all are full. Placeable nodes are
 * those the configuration allows, up or down, so placement ignores liveness. (2) Failover: an address whose
 * placed node is not eligible right now (speaker down, network unavailable), and every ETP Local address,
 * goes to its most preferred eligible node.
 *
 * Guarantees, checked by property tests: the result depends only on the set of inputs; with every node
 * eligible for every ETP Cluster address, loads differ by at most one (loadFactor 1); a node going down or
 * coming back (speakerAlive, networkUnavailable, local endpoints) moves only addresses from or to that node,
 * exactly as in "metallb" mode. Adding or deleting a node, or changing labels or selectors, re-places
 * addresses and may move a few beyond that node's own (measured in election.test.ts).
 */
export function electAll(
  inputs: readonly ElectionInput[],
  options: ElectionOptions = {},
): Map<string, ElectionResult> {
  const groups = new Map<string, ElectionInput[]>();
  const out = new Map<string, ElectionResult>();
  for (const input of inputs) {
    const key = electionKey(input.ips);
    if (key === undefined) continue;
    const g = groups.get(key);
    if (g) g.push(input);
    else groups.set(key, [input]);
  }
  interface Candidate {
    key: string;
    local: boolean;
    preference: string[];
    eligible: ReadonlySet<string>;
    excluded: NodeExclusion[];
  }
  const candidates: Candidate[] = [];
  for (const [key, group] of groups) {
    const merged = mergeEligibility(group);
    if (merged.failure) {
      out.set(key, { ok: false, key, reason: merged.failure, excluded: merged.excluded });
      continue;
    }
    candidates.push({
      key,
      local: group.some((g) => g.externalTrafficPolicy === 'Local'),
      preference: metallbOrder(merged.placeable, key),
      eligible: new Set(merged.eligible),
      excluded: merged.excluded,
    });
  }
  const finish = (c: Candidate, placed: string | undefined): void => {
    const live = c.preference.filter((n) => c.eligible.has(n));
    const winner = placed !== undefined && c.eligible.has(placed) ? placed : (live[0] as string);
    out.set(c.key, {
      ok: true,
      key: c.key,
      winner,
      order: [winner, ...live.filter((n) => n !== winner)],
      excluded: c.excluded,
    });
  };
  if ((options.mode ?? 'evenSpread') === 'metallb') {
    for (const c of candidates) finish(c, undefined);
    return sortByKey(out);
  }
  const loadFactor = options.loadFactor ?? 1;
  if (!(loadFactor >= 1)) throw new RangeError(`Election loadFactor ${loadFactor} must be at least 1`);
  const spread = candidates.filter((c) => !c.local);
  const nodes = new Set(spread.flatMap((c) => c.preference));
  const cap = Math.ceil((loadFactor * spread.length) / Math.max(nodes.size, 1));
  const load = new Map<string, number>();
  const byHash = spread
    .map((c) => ({ c, h: sha256Text(c.key) }))
    .sort((a, b) => compareBytes(a.h, b.h) || (a.c.key < b.c.key ? -1 : 1));
  for (const { c } of byHash) {
    let placed = c.preference.find((n) => (load.get(n) ?? 0) < cap);
    // Every placeable node is full (placeable sets differ per key): take the least loaded, by preference.
    placed ??= c.preference.reduce((best, n) => ((load.get(n) ?? 0) < (load.get(best) ?? 0) ? n : best));
    load.set(placed, (load.get(placed) ?? 0) + 1);
    finish(c, placed);
  }
  for (const c of candidates) if (c.local) finish(c, undefined);
  return sortByKey(out);
}

function mergeEligibility(group: readonly ElectionInput[]): Eligibility {
  const parts = group.map(eligibleNodes);
  const first = parts[0] as Eligibility;
  if (parts.length === 1) return first;
  const failed = parts.find((p) => p.failure);
  const excluded = new Map<string, ExclusionReason>();
  for (const p of parts)
    for (const e of p.excluded) if (!excluded.has(e.node)) excluded.set(e.node, e.reason);
  const inAll = (pick: (p: Eligibility) => string[]) =>
    pick(first).filter((n) => parts.every((p) => pick(p).includes(n)));
  const eligible = inAll((p) => p.eligible);
  const placeable = inAll((p) => p.placeable);
  const list = [...excluded]
    .map(([node, reason]) => ({ node, reason }))
    .sort((a, b) => (a.node < b.node ? -1 : 1));
  const base = { key: first.key, eligible, placeable, excluded: list };
  if (failed?.failure) return { ...base, failure: failed.failure };
  if (eligible.length === 0) return { ...base, failure: 'noEligibleNodes' };
  return base;
}

function sortByKey(m: Map<string, ElectionResult>): Map<string, ElectionResult> {
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * shouldAnnounce turns an election result into one node's decision: announce when it is the winner, otherwise
 * "notOwner" or the failure that left the address without an announcer.
 */
export function shouldAnnounce(result: ElectionResult | undefined, node: string): AnnounceDecision {
  if (!result) return { announce: false, reason: 'noAddress' };
  if (!result.ok) return { announce: false, reason: result.reason };
  return result.winner === node ? { announce: true } : { announce: false, reason: 'notOwner' };
}
