// Static Gateway addresses (`spec.addresses` of type IPAddress): each is requested from IronLB through the
// Gateway's LoadBalancer Service; one that no IPAddressPool holds can never be assigned, which the Gateway's
// Programmed condition says (AddressNotUsable) instead of waiting for it (AddressNotAssigned).
import { parseRange, rangeContains, tryParseAddress } from '../address/address.ts';

/** PoolObject is the part of an IPAddressPool (metallb.io) that tells which addresses it holds. */
export interface PoolObject {
  metadata?: { name?: string; namespace?: string };
  spec?: { addresses?: string[] };
}

/**
 * addressesInNoPool returns the requested addresses no pool holds, in request order (an entry of a pool that
 * does not parse holds nothing: the controller reports it). O(requested × pool entries).
 */
export function addressesInNoPool(requested: readonly string[], pools: readonly PoolObject[]): string[] {
  const ranges = pools.flatMap((p) =>
    (p.spec?.addresses ?? []).flatMap((text) => {
      try {
        return [parseRange(text)];
      } catch {
        return [];
      }
    }),
  );
  return requested.filter((ip) => {
    const a = tryParseAddress(ip);
    return a === undefined || !ranges.some((r) => rangeContains(r, a));
  });
}
