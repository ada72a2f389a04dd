// Annotation keys that cross program boundaries: set by users and read by the controller, or written by the
// controller and read by users, the speaker and the CLI. Declared once here.

/** ANNOTATIONS are the Service annotations users set (and the one the controller writes), metallb.io prefix. */
export const ANNOTATIONS = {
  loadBalancerIPs: 'metallb.io/loadBalancerIPs',
  addressPool: 'metallb.io/address-pool',
  allowSharedIP: 'metallb.io/allow-shared-ip',
  ipAllocatedFromPool: 'metallb.io/ip-allocated-from-pool',
} as const;

/** POOL_ANNOTATION is written on every Service with the pool its addresses came from (removed when none). */
export const POOL_ANNOTATION = ANNOTATIONS.ipAllocatedFromPool;

/** DEPRECATED_PREFIX is MetalLB's old annotation prefix: still read, the metallb.io key wins when both exist. */
export const DEPRECATED_PREFIX = 'metallb.universe.tf/';

/** STABLE_PREFIX is the prefix of every key in ANNOTATIONS. */
export const STABLE_PREFIX = 'metallb.io/';

/** deprecatedKey returns the metallb.universe.tf/ spelling of a metallb.io/ annotation key. */
export function deprecatedKey(stable: string): string {
  return DEPRECATED_PREFIX + stable.slice(STABLE_PREFIX.length);
}
