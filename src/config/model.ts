// The internal configuration model: what parseConfig (src/config/parse.ts) builds from metallb.io objects.
// Only the parse step knows CRD shapes; everything else (allocator, election, BGP, webhook) reads this model.

import type { IPFamily } from '../address/address.ts';

/** IPFamily is the address family of an address, range or Service (declared by the one address module). */
export type { IPFamily };

/** LabelSelector is a Kubernetes label selector (matchLabels AND every matchExpression). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** LabelSelectorRequirement is one matchExpressions entry. */
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** AddressRange is an inclusive range of addresses of one family, as numbers. first <= last, checked by parseConfig. */
export interface AddressRange {
  family: IPFamily;
  first: bigint;
  last: bigint;
  /** text is the entry as the user wrote it in spec.addresses (for messages). */
  text: string;
}

/** ServiceAllocation restricts which Services a pool serves and with what priority. */
export interface ServiceAllocation {
  /** priority: lower wins; 0 means unset, which ranks after every set priority. */
  priority: number;
  namespaces: string[];
  namespaceSelectors: LabelSelector[];
  serviceSelectors: LabelSelector[];
}

/** Pool is a parsed IPAddressPool. Ranges never overlap with any other pool's ranges (checked by parseConfig). */
export interface Pool {
  name: string;
  labels: Record<string, string>;
  ranges: AddressRange[];
  autoAssign: boolean;
  avoidBuggyIPs: boolean;
  /** serviceAllocation is undefined when the pool has none (serves every Service). */
  serviceAllocation?: ServiceAllocation;
}

/** L2Advertisement is a parsed L2Advertisement: pool names already resolved from ipAddressPools and selectors. */
export interface L2Advertisement {
  name: string;
  /** pools the advertisement covers; every pool when the object named none. */
  pools: string[];
  nodeSelectors: LabelSelector[];
  /** interfaces to answer on; empty means every eligible interface. */
  interfaces: string[];
  serviceSelectors: LabelSelector[];
}

/** Community is a BGP community: standard (asn:value, 16 bits each) or large (three 32-bit numbers). */
export type Community =
  | { kind: 'standard'; asn: number; value: number }
  | { kind: 'large'; global: number; local1: number; local2: number };

/** BgpAdvertisement is a parsed BGPAdvertisement with pools resolved and Community names expanded. */
export interface BgpAdvertisement {
  name: string;
  pools: string[];
  aggregationLength: number;
  aggregationLengthV6: number;
  localPref?: number;
  communities: Community[];
  nodeSelectors: LabelSelector[];
  /** peers by BGPPeer name; empty means every peer. */
  peers: string[];
  serviceSelectors: LabelSelector[];
}

/** BfdProfile is a parsed BFDProfile with defaults applied. Intervals in milliseconds. */
export interface BfdProfile {
  name: string;
  receiveInterval: number;
  transmitInterval: number;
  detectMultiplier: number;
  echoInterval: number;
  echoMode: boolean;
  passiveMode: boolean;
  minimumTtl: number;
}

/** Peer is a parsed BGPPeer. Times in seconds; holdTime 0 disables keepalives. */
export interface Peer {
  name: string;
  myASN: number;
  /** peerASN is set unless dynamicASN is. */
  peerASN?: number;
  dynamicASN?: 'internal' | 'external';
  address: string;
  sourceAddress?: string;
  port: number;
  holdTime: number;
  keepaliveTime: number;
  connectTime: number;
  routerID?: string;
  nodeSelectors: LabelSelector[];
  /** password is the resolved MD5 password (inline or from the Secret). Never log it. */
  password?: string;
  bfdProfile?: string;
  ebgpMultiHop: boolean;
  vrf?: string;
  enableGracefulRestart: boolean;
}

/** Config is the whole parsed configuration. Pool names are unique; pools never overlap. */
export interface Config {
  pools: Map<string, Pool>;
  l2Advertisements: L2Advertisement[];
  bgpAdvertisements: BgpAdvertisement[];
  peers: Peer[];
  bfdProfiles: Map<string, BfdProfile>;
}
