/**
 * AllocationErrorCode says why a Service got no address, stably (for metrics, status reasons and tests):
 * - invalidService: the Service's own settings are contradictory (see ServiceView.problems)
 * - noPools: no IPAddressPool is configured at all
 * - familyMismatch: the requested IPs do not fit the Service's IP families
 * - requestedIPNotInPool: a requested IP is in no pool (or in two different pools)
 * - requestedPoolConflict: the requested IPs are not in the pool metallb.io/address-pool names
 * - poolNotFound: metallb.io/address-pool names a pool that does not exist
 * - poolNotAllowed: the pool's serviceAllocation does not allow this Service
 * - addressAvoided: a requested IP is avoided (an address conflict was detected on the network)
 * - addressInUse: a requested IP is held by another Service and sharing rules forbid sharing it
 * - poolExhausted: the pools that may serve the Service have no free address of the needed family
 * - noPoolMatches: no pool may serve the Service automatically (autoAssign off, serviceAllocation mismatch)
 */
export type AllocationErrorCode =
  | 'invalidService'
  | 'noPools'
  | 'familyMismatch'
  | 'requestedIPNotInPool'
  | 'requestedPoolConflict'
  | 'poolNotFound'
  | 'poolNotAllowed'
  | 'addressAvoided'
  | 'addressInUse'
  | 'poolExhausted'
  | 'noPoolMatches';

/**
 * AllocationError is the one condition callers of Allocator.assign catch: the Service stays pending and is
 * retried when addresses free up or the configuration changes. The message is what the AllocationFailed
 * Event shows, MetalLB-style: `Failed to allocate IP for "ns/name": no available IPs: pool "lab" is exhausted`.
 * `detail` is the part after the colon.
 */
export class AllocationError extends Error {
  readonly code: AllocationErrorCode;
  readonly serviceKey: string;
  readonly detail: string;
  /** dropped: the addresses the Service held before this attempt and why they could not be kept. */
  dropped?: { ips: string[]; reason: string };
  constructor(code: AllocationErrorCode, options: { serviceKey: string; detail: string; cause?: unknown }) {
    super(
      `Failed to allocate IP for "${options.serviceKey}": ${options.detail}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'AllocationError';
    this.code = code;
    this.serviceKey = options.serviceKey;
    this.detail = options.detail;
  }
}
