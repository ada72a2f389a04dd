// Per-peer selection of paths (BGPAdvertisement.peers) in gobgpd. gobgpd has one global table and offers every
// path to every peer; a global EXPORT policy filters per destination peer (gobgpd evaluates the neighbor-set
// condition of an export policy against the peer the path is being sent to). The policy is one REJECT
// statement per group of prefixes that share the same set of excluded peers; everything else is accepted.

import { formatPrefix, parseIPAddress, type Prefix } from './prefix.ts';

/** EXPORT_POLICY_NAME is the one policy IronLB owns in gobgpd. */
export const EXPORT_POLICY_NAME = 'ironlb-export';

/** ExportPath is a prefix and the peer addresses that should receive it. */
export interface ExportPath {
  readonly prefix: Prefix;
  readonly peers: readonly string[];
}

/** ExportPeer is one session: its address (the family decides which prefixes it could carry at all). */
export interface ExportPeer {
  readonly address: string;
}

/** ApiDefinedSet is apipb.DefinedSet for prefix and neighbor sets. */
export interface ApiDefinedSet {
  readonly defined_type: 'PREFIX' | 'NEIGHBOR';
  readonly name: string;
  readonly list?: readonly string[];
  readonly prefixes?: readonly {
    readonly ip_prefix: string;
    readonly mask_length_min: number;
    readonly mask_length_max: number;
  }[];
}

/** SetPoliciesRequest is apipb.SetPoliciesRequest with our defined sets and our one policy. */
export interface SetPoliciesRequest {
  readonly defined_sets: readonly ApiDefinedSet[];
  readonly policies: readonly {
    readonly name: string;
    readonly statements: readonly {
      readonly name: string;
      readonly conditions: {
        readonly prefix_set: { readonly type: 'ANY'; readonly name: string };
        readonly neighbor_set: { readonly type: 'ANY'; readonly name: string };
      };
      readonly actions: { readonly route_action: 'REJECT' };
    }[];
  }[];
}

/** AddPolicyAssignmentRequest is apipb.AddPolicyAssignmentRequest attaching our policy to the global export. */
export interface AddPolicyAssignmentRequest {
  readonly assignment: {
    readonly name: 'global';
    readonly direction: 'EXPORT';
    readonly policies: readonly { readonly name: string }[];
    readonly default_action: 'ACCEPT';
  };
}

/** ExportPolicy is the policy to install, and per prefix the peers it is kept from (for change detection). */
export interface ExportPolicy {
  readonly request: SetPoliciesRequest;
  /** exclusions: prefix → sorted excluded peer addresses, only prefixes with at least one. */
  readonly exclusions: ReadonlyMap<string, string>;
}

function hostPrefix(address: string): string {
  return `${address}/${parseIPAddress(address).family === 'ipv4' ? 32 : 128}`;
}

/**
 * buildExportPolicy computes the export policy for the given paths and peers: for each path, the peers of its
 * family that are not among its receivers are excluded; prefixes with the same excluded set share a prefix set
 * and one REJECT statement. Names are stable for equal input. With no exclusion the policy has no statement.
 * O(P · N log N) for P paths and N peers.
 */
export function buildExportPolicy(paths: readonly ExportPath[], peers: readonly ExportPeer[]): ExportPolicy {
  const familyOf = new Map(peers.map((p) => [p.address, parseIPAddress(p.address).family]));
  const groups = new Map<string, string[]>();
  const exclusions = new Map<string, string>();
  for (const path of paths) {
    const to = new Set(path.peers);
    const excluded = peers
      .map((p) => p.address)
      .filter((a) => familyOf.get(a) === path.prefix.family && !to.has(a))
      .sort();
    if (excluded.length === 0) continue;
    const key = excluded.join(',');
    const prefix = formatPrefix(path.prefix);
    exclusions.set(prefix, key);
    const group = groups.get(key);
    if (group) group.push(prefix);
    else groups.set(key, [prefix]);
  }
  const definedSets: ApiDefinedSet[] = [];
  const statements: SetPoliciesRequest['policies'][number]['statements'][number][] = [];
  [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .forEach(([key, prefixes], i) => {
      const prefixSet = `ironlb-prefixes-${i}`;
      const neighborSet = `ironlb-peers-${i}`;
      definedSets.push({
        defined_type: 'PREFIX',
        name: prefixSet,
        prefixes: prefixes.sort().map((p) => {
          const length = Number(p.slice(p.indexOf('/') + 1));
          return { ip_prefix: p, mask_length_min: length, mask_length_max: length };
        }),
      });
      definedSets.push({ defined_type: 'NEIGHBOR', name: neighborSet, list: key.split(',').map(hostPrefix) });
      statements.push({
        name: `ironlb-reject-${i}`,
        conditions: {
          prefix_set: { type: 'ANY', name: prefixSet },
          neighbor_set: { type: 'ANY', name: neighborSet },
        },
        actions: { route_action: 'REJECT' },
      });
    });
  return {
    request: { defined_sets: definedSets, policies: [{ name: EXPORT_POLICY_NAME, statements }] },
    exclusions,
  };
}

/** buildExportAssignment attaches the policy to gobgpd's global export, accepting what no statement rejects. */
export function buildExportAssignment(): AddPolicyAssignmentRequest {
  return {
    assignment: {
      name: 'global',
      direction: 'EXPORT',
      policies: [{ name: EXPORT_POLICY_NAME }],
      default_action: 'ACCEPT',
    },
  };
}

/**
 * changedExclusions lists the prefixes whose excluded peers differ between two policies (present in either).
 * gobgpd must re-evaluate those it already advertised (the speaker withdraws and re-adds, or soft-resets).
 */
export function changedExclusions(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): string[] {
  const out = new Set<string>();
  for (const [p, k] of before) if (after.get(p) !== k) out.add(p);
  for (const [p, k] of after) if (before.get(p) !== k) out.add(p);
  return [...out].sort();
}
