// Ingress status decisions: which Ingresses get which `status.loadBalancer.ingress`, from the route table
// (which Ingresses this controller serves) and the address of the ingress's own LoadBalancer Service. Pure:
// the edge reads the objects, calls planIngressStatus, and writes what it returns.

/** StatusAddress is one entry of a load-balancer status: an IP or a hostname. */
export interface StatusAddress {
  ip?: string;
  hostname?: string;
}

/** LoadBalancerStatusView is the part of a Service or Ingress status this module reads. */
export interface LoadBalancerStatusView {
  status?: {
    loadBalancer?: { ingress?: readonly { ip?: string | null; hostname?: string | null }[] | null } | null;
  } | null;
}

/** IngressStatusView is an Ingress as the status planner sees it. */
export interface IngressStatusView extends LoadBalancerStatusView {
  metadata?: { namespace?: string; name?: string };
}

/** StatusWrite is one write to do: the Ingress and its new addresses (empty means clear the status). */
export interface StatusWrite {
  key: string;
  namespace: string;
  name: string;
  addresses: StatusAddress[];
  /** why: "served" (set to the ingress address) or "notServed" (cleared: no longer ours). */
  why: 'served' | 'notServed';
}

/** StatusPlanInput is what planIngressStatus reads. */
export interface StatusPlanInput {
  ingresses: readonly IngressStatusView[];
  /** served are the "namespace/name" keys of the Ingresses this controller serves (RouteTable.ingresses). */
  served: ReadonlySet<string>;
  /** addresses are the ingress Service's load-balancer addresses (statusAddresses of that Service). */
  addresses: readonly StatusAddress[];
  /** written maps an Ingress key to the addressesKey this controller last wrote for it. */
  written: ReadonlyMap<string, string>;
}

/**
 * statusAddresses returns the load-balancer addresses of a Service (or any object with that status),
 * IPs and hostnames only, sorted and without duplicates; empty when it has none.
 */
export function statusAddresses(obj: LoadBalancerStatusView | undefined): StatusAddress[] {
  const out = new Map<string, StatusAddress>();
  for (const e of obj?.status?.loadBalancer?.ingress ?? []) {
    const a: StatusAddress = {};
    if (e.ip) a.ip = e.ip;
    if (e.hostname) a.hostname = e.hostname;
    if (a.ip === undefined && a.hostname === undefined) continue;
    out.set(addressKey(a), a);
  }
  return [...out.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, a]) => a);
}

function addressKey(a: StatusAddress): string {
  return `${a.ip ?? ''}|${a.hostname ?? ''}`;
}

/** addressesKey is a canonical text of a list of addresses: equal lists (in any order) give equal keys. */
export function addressesKey(list: readonly StatusAddress[]): string {
  return list
    .map(addressKey)
    .sort()
    .filter((k, i, all) => all.indexOf(k) === i)
    .join(',');
}

/**
 * planIngressStatus returns the writes that bring every Ingress's status in line: a served Ingress holds
 * exactly the ingress Service's addresses (written only when different); an Ingress that is not served is
 * cleared only when its status is ours (what we last wrote for it, or our current addresses), so the status
 * another controller wrote is never touched. Sorted by key. O(n log n).
 */
export function planIngressStatus(input: StatusPlanInput): StatusWrite[] {
  const ours = addressesKey(input.addresses);
  const writes: StatusWrite[] = [];
  for (const ing of input.ingresses) {
    const namespace = ing.metadata?.namespace ?? 'default';
    const name = ing.metadata?.name ?? '';
    const key = `${namespace}/${name}`;
    const current = addressesKey(statusAddresses(ing));
    if (input.served.has(key)) {
      if (current !== ours)
        writes.push({ key, namespace, name, addresses: [...input.addresses], why: 'served' });
    } else if (current !== '' && (current === input.written.get(key) || current === ours)) {
      writes.push({ key, namespace, name, addresses: [], why: 'notServed' });
    }
  }
  return writes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
