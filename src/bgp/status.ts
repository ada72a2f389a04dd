// Pure decoders for what gobgpd answers (ListPeer, WatchEvent, ListPath), as @grpc/proto-loader hands it over
// with {keepCase, enums: String, longs: String, defaults, oneofs, json}: snake_case fields, enum names, Any
// decoded into `{"@type", ...fields}`, bytes as Uint8Array. Only the fields IronLB uses are kept; in particular
// a peer's auth_password (ListPeer echoes it) never leaves this module.

import { anyTypeName } from './api.ts';
import { normalizeLargeCommunities, normalizeStandardCommunities, type LargeCommunity } from './community.ts';
import type { PathSpec } from './path.ts';
import { formatIPAddress, maskPrefix, parseIPAddress } from './prefix.ts';

/** SessionState is apipb.PeerState.SessionState by name. */
export type SessionState =
  'UNKNOWN' | 'IDLE' | 'CONNECT' | 'ACTIVE' | 'OPENSENT' | 'OPENCONFIRM' | 'ESTABLISHED';

/** PeerStatus is what the speaker needs to know about one gobgpd neighbor (metrics, ServiceBGPStatus). */
export interface PeerStatus {
  readonly address: string;
  readonly peerASN: number;
  readonly localASN: number;
  readonly sessionState: SessionState;
  readonly adminState: 'UP' | 'DOWN' | 'PFX_CT';
  /** routerId: the peer's BGP identifier once known, else undefined. */
  readonly routerId?: string;
}

/** PeerEvent is one WatchEvent peer notification: INIT for each peer at subscription, END_OF_INIT, then STATE changes. */
export interface PeerEvent {
  readonly type: 'UNKNOWN' | 'INIT' | 'END_OF_INIT' | 'STATE';
  readonly peer?: PeerStatus;
}

/**
 * ListedPath is one path read back from ListPath: the PathSpec IronLB would have built for it, whether it is the
 * best path for its prefix, and whether gobgpd originated it (added over the API) rather than learned it from
 * a peer. gobgpd 3.10 does not report the AddPath uuid in ListPath (Path.uuid stays empty).
 */
export interface ListedPath {
  readonly spec: PathSpec;
  readonly best: boolean;
  readonly local: boolean;
}

type Obj = Readonly<Record<string, unknown>>;

function obj(value: unknown): Obj {
  return typeof value === 'object' && value !== null ? (value as Obj) : {};
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value !== '') return Number(value);
  return 0;
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

const SESSION_STATES: readonly SessionState[] = [
  'UNKNOWN',
  'IDLE',
  'CONNECT',
  'ACTIVE',
  'OPENSENT',
  'OPENCONFIRM',
  'ESTABLISHED',
];
const ADMIN_STATES = ['UP', 'DOWN', 'PFX_CT'] as const;

function enumName<T extends string>(value: unknown, names: readonly T[], fallback: T): T {
  if (typeof value === 'number') return names[value] ?? fallback;
  return names.find((name) => name === value) ?? fallback;
}

/** peerStatusFromApi decodes an apipb.Peer (from ListPeer or a WatchEvent); never copies auth_password. */
export function peerStatusFromApi(peer: unknown): PeerStatus {
  const conf = obj(obj(peer)['conf']);
  const state = obj(obj(peer)['state']);
  const routerId = str(state['router_id']);
  const status: PeerStatus = {
    address: str(state['neighbor_address']) || str(conf['neighbor_address']),
    peerASN: num(state['peer_asn']) || num(conf['peer_asn']),
    localASN: num(state['local_asn']) || num(conf['local_asn']),
    sessionState: enumName(state['session_state'], SESSION_STATES, 'UNKNOWN'),
    adminState: enumName(state['admin_state'], ADMIN_STATES, 'UP'),
  };
  return routerId !== '' && routerId !== '<nil>' && routerId !== '0.0.0.0' ? { ...status, routerId } : status;
}

/** peerEventFromApi decodes a WatchEventResponse; undefined when it is not a peer event (e.g. a table event). */
export function peerEventFromApi(response: unknown): PeerEvent | undefined {
  const event = obj(response)['peer'];
  if (event === undefined || event === null) return undefined;
  const type = enumName(obj(event)['type'], ['UNKNOWN', 'INIT', 'END_OF_INIT', 'STATE'] as const, 'UNKNOWN');
  const peer = obj(event)['peer'];
  return peer === undefined || peer === null || type === 'END_OF_INIT'
    ? { type }
    : { type, peer: peerStatusFromApi(peer) };
}

/**
 * pathFromApi decodes an apipb.Path of an IPv4/IPv6 unicast prefix into the PathSpec IronLB would have built
 * for it (so pathKey matches), with best and local flags. Throws a TypeError when the NLRI is not an IPAddressPrefix.
 */
export function pathFromApi(path: unknown): ListedPath {
  const nlri = obj(obj(path)['nlri']);
  if (anyTypeName(nlri) !== 'IPAddressPrefix') {
    throw new TypeError(
      `Cannot decode gobgpd path: NLRI type "${str(nlri['@type'])}" is not apipb.IPAddressPrefix`,
    );
  }
  const prefix = maskPrefix(parseIPAddress(str(nlri['prefix'])), num(nlri['prefix_len']));
  let nextHop = prefix.family === 'ipv4' ? '0.0.0.0' : '::';
  let communities: number[] = [];
  let largeCommunities: LargeCommunity[] = [];
  let localPref: number | undefined;
  for (const attr of list(obj(path)['pattrs'])) {
    const a = obj(attr);
    switch (anyTypeName(a)) {
      case 'NextHopAttribute':
        nextHop = str(a['next_hop']) || nextHop;
        break;
      case 'MpReachNLRIAttribute':
        nextHop = str(list(a['next_hops'])[0]) || nextHop;
        break;
      case 'CommunitiesAttribute':
        communities = normalizeStandardCommunities(list(a['communities']).map(num));
        break;
      case 'LargeCommunitiesAttribute':
        largeCommunities = normalizeLargeCommunities(
          list(a['communities']).map((c) => ({
            globalAdmin: num(obj(c)['global_admin']),
            localData1: num(obj(c)['local_data1']),
            localData2: num(obj(c)['local_data2']),
          })),
        );
        break;
      case 'LocalPrefAttribute':
        localPref = num(a['local_pref']);
        break;
    }
  }
  const spec: PathSpec = {
    prefix,
    nextHop: formatIPAddress(parseIPAddress(nextHop)),
    communities,
    largeCommunities,
    ...(localPref !== undefined ? { localPref } : {}),
  };
  // A local path has no source peer; Go prints the nil source address as "<nil>".
  const neighbor = str(obj(path)['neighbor_ip']);
  return { spec, best: obj(path)['best'] === true, local: neighbor === '' || neighbor === '<nil>' };
}

/**
 * localPathsFromList returns the specs of the paths gobgpd originated (ours), from ListPath destinations
 * (`{prefix, paths}` each); paths learned from routers are skipped. Input of planAdoption.
 */
export function localPathsFromList(destinations: readonly unknown[]): PathSpec[] {
  const specs: PathSpec[] = [];
  for (const destination of destinations) {
    for (const path of list(obj(destination)['paths'])) {
      const listed = pathFromApi(path);
      if (listed.local) specs.push(listed.spec);
    }
  }
  return specs;
}
