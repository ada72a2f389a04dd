// Pure path building: announced address + advertisement parameters -> the path gobgpd should originate, and the
// exact AddPath / DeletePath requests for it. gobgpd keeps ONE locally originated path per prefix in its global
// table (AddPath of a prefix it already has replaces that path), and every peer of the speaker is offered that
// table, so the unit here is "one path per prefix".

import { API_FAMILY, anyOf, type AddPathRequest, type ApiAny, type DeletePathRequest } from './api.ts';
import {
  formatLargeCommunity,
  formatStandardCommunity,
  normalizeLargeCommunities,
  normalizeStandardCommunities,
  type LargeCommunity,
} from './community.ts';
import {
  formatIPAddress,
  formatPrefix,
  maskPrefix,
  parseIPAddress,
  type AddressFamily,
  type Prefix,
} from './prefix.ts';
import { encodeBase64, pathUuidToBytes, type PathUuid } from './uuid.ts';

/**
 * PathParams is what a BGPAdvertisement says about how to announce an address: aggregation lengths (MetalLB
 * defaults 32 and 128), optional LOCAL_PREF, and communities already parsed (parseCommunity; Community objects
 * resolved by the config parser).
 */
export interface PathParams {
  readonly aggregationLength: number;
  readonly aggregationLengthV6: number;
  readonly localPref?: number;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

/**
 * NextHopPolicy gives an explicit next hop per family; a family left out (the usual case) gets the unspecified
 * address, which gobgpd replaces per session by its own local address on that session.
 */
export interface NextHopPolicy {
  readonly ipv4?: string;
  readonly ipv6?: string;
}

/** PathOptions are the speaker-wide inputs of path building. */
export interface PathOptions {
  /** nextHop: explicit next hops; default: the session address ("next-hop self"). */
  readonly nextHop?: NextHopPolicy;
  /**
   * towardIBGP: whether any peer that receives the path is iBGP. LOCAL_PREF is only attached when true
   * (MetalLB: localPref only applies to iBGP); gobgpd also strips it on export to each eBGP peer.
   */
  readonly towardIBGP: boolean;
}

/**
 * PathSpec is one path to originate, normalized: communities sorted without duplicates, next hop canonical and
 * of the prefix's family. Two PathSpecs with equal pathKey are the same announcement.
 */
export interface PathSpec {
  readonly prefix: Prefix;
  readonly nextHop: string;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
  readonly localPref?: number;
}

/** PathAnnouncement is one address announced under one advertisement's parameters. */
export interface PathAnnouncement {
  readonly address: string;
  readonly params: PathParams;
}

const UNSPECIFIED: Readonly<Record<AddressFamily, string>> = { ipv4: '0.0.0.0', ipv6: '::' };

/** ORIGIN_IGP is the ORIGIN attribute value we send (what MetalLB's FRR mode sends for `network` routes). */
export const ORIGIN_IGP = 0;

function assertUint32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`Invalid ${what} ${value}: must be an unsigned 32-bit integer`);
  }
}

function canonicalNextHop(text: string | undefined, family: AddressFamily, prefix: Prefix): string {
  if (text === undefined) return UNSPECIFIED[family];
  const address = parseIPAddress(text);
  if (address.family !== family) {
    throw new TypeError(`Invalid next hop "${text}" for prefix "${formatPrefix(prefix)}": must be ${family}`);
  }
  return formatIPAddress(address);
}

/**
 * buildPathSpec aggregates the address to the advertisement's length for its family (address masked to
 * aggregationLength / aggregationLengthV6) and attaches communities, LOCAL_PREF (only toward iBGP) and the next
 * hop. Throws TypeError/RangeError naming the address when an input is invalid.
 */
export function buildPathSpec(address: string, params: PathParams, options: PathOptions): PathSpec {
  const parsed = parseIPAddress(address);
  const length = parsed.family === 'ipv4' ? params.aggregationLength : params.aggregationLengthV6;
  let prefix: Prefix;
  try {
    prefix = maskPrefix(parsed, length);
  } catch (error) {
    throw new RangeError(`Cannot build path for address "${address}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  const spec: PathSpec = {
    prefix,
    nextHop: canonicalNextHop(options.nextHop?.[parsed.family], parsed.family, prefix),
    communities: normalizeStandardCommunities(params.communities),
    largeCommunities: normalizeLargeCommunities(params.largeCommunities),
  };
  if (params.localPref !== undefined && options.towardIBGP) {
    assertUint32(params.localPref, `local preference for address "${address}"`);
    return { ...spec, localPref: params.localPref };
  }
  return spec;
}

/**
 * pathKey is a stable text identity of a path: prefix and every attribute we set. The desired-state diff keys
 * paths by it, so a changed community yields a new key (and a replacing AddPath).
 */
export function pathKey(spec: PathSpec): string {
  return [
    formatPrefix(spec.prefix),
    `nh=${spec.nextHop}`,
    `c=${spec.communities.map(formatStandardCommunity).join(',')}`,
    `lc=${spec.largeCommunities.map(formatLargeCommunity).join(',')}`,
    `lp=${spec.localPref ?? ''}`,
  ].join(' ');
}

/** comparePrefixes orders IPv4 before IPv6, then by network address, then by length. */
export function comparePrefixes(a: Prefix, b: Prefix): number {
  if (a.family !== b.family) return a.family === 'ipv4' ? -1 : 1;
  const av = parseIPAddress(a.address).value;
  const bv = parseIPAddress(b.address).value;
  return av < bv ? -1 : av > bv ? 1 : a.length - b.length;
}

/**
 * mergePathSpecs folds specs with the same prefix into one (gobgpd can hold only one local path per prefix):
 * communities are united, LOCAL_PREF is the highest given. Specs for one prefix must agree on the next hop
 * (TypeError otherwise). Result sorted by prefix. O(n log n).
 */
export function mergePathSpecs(specs: readonly PathSpec[]): PathSpec[] {
  const byPrefix = new Map<string, PathSpec>();
  for (const spec of specs) {
    const id = formatPrefix(spec.prefix);
    const seen = byPrefix.get(id);
    if (seen === undefined) {
      byPrefix.set(id, spec);
      continue;
    }
    if (seen.nextHop !== spec.nextHop) {
      throw new TypeError(
        `Cannot merge paths for prefix "${id}": next hops "${seen.nextHop}" and "${spec.nextHop}" differ`,
      );
    }
    const localPref =
      seen.localPref === undefined
        ? spec.localPref
        : Math.max(seen.localPref, spec.localPref ?? seen.localPref);
    const merged: PathSpec = {
      prefix: seen.prefix,
      nextHop: seen.nextHop,
      communities: normalizeStandardCommunities([...seen.communities, ...spec.communities]),
      largeCommunities: normalizeLargeCommunities([...seen.largeCommunities, ...spec.largeCommunities]),
    };
    byPrefix.set(id, localPref === undefined ? merged : { ...merged, localPref });
  }
  return [...byPrefix.values()].sort((a, b) => comparePrefixes(a.prefix, b.prefix));
}

/**
 * buildDesiredPaths turns every (address, advertisement) announcement of this speaker into the set of paths
 * gobgpd should hold: buildPathSpec for each, then mergePathSpecs. Ready for planPaths.
 */
export function buildDesiredPaths(
  announcements: readonly PathAnnouncement[],
  options: PathOptions,
): PathSpec[] {
  return mergePathSpecs(announcements.map(({ address, params }) => buildPathSpec(address, params, options)));
}

/**
 * buildAddPathRequest renders the AddPath request for a spec: family, NLRI Any(IPAddressPrefix), and path
 * attributes in type-code order: ORIGIN, NEXT_HOP (IPv4), LOCAL_PREF (if set), COMMUNITIES (if any),
 * MP_REACH_NLRI (IPv6, carrying the next hop and the NLRI again, as gobgpd requires), LARGE_COMMUNITIES (if any).
 */
export function buildAddPathRequest(spec: PathSpec): AddPathRequest {
  const family = API_FAMILY[spec.prefix.family];
  const nlri = anyOf('IPAddressPrefix', { prefix_len: spec.prefix.length, prefix: spec.prefix.address });
  const pattrs: ApiAny[] = [anyOf('OriginAttribute', { origin: ORIGIN_IGP })];
  if (spec.prefix.family === 'ipv4') pattrs.push(anyOf('NextHopAttribute', { next_hop: spec.nextHop }));
  if (spec.localPref !== undefined) pattrs.push(anyOf('LocalPrefAttribute', { local_pref: spec.localPref }));
  if (spec.communities.length > 0) {
    pattrs.push(anyOf('CommunitiesAttribute', { communities: [...spec.communities] }));
  }
  if (spec.prefix.family === 'ipv6') {
    pattrs.push(anyOf('MpReachNLRIAttribute', { family, next_hops: [spec.nextHop], nlris: [nlri] }));
  }
  if (spec.largeCommunities.length > 0) {
    const communities = spec.largeCommunities.map((c) => ({
      global_admin: c.globalAdmin,
      local_data1: c.localData1,
      local_data2: c.localData2,
    }));
    pattrs.push(anyOf('LargeCommunitiesAttribute', { communities }));
  }
  return { table_type: 'GLOBAL', path: { family, nlri, pattrs } };
}

/**
 * buildDeletePathRequest renders a DeletePath for exactly one path, by uuid. There is no way to build a
 * DeletePath without one: gobgpd reads an empty DeletePath as "withdraw every local path".
 */
export function buildDeletePathRequest(uuid: PathUuid): DeletePathRequest {
  return { table_type: 'GLOBAL', uuid: encodeBase64(pathUuidToBytes(uuid)) };
}
