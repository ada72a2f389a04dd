// withGateways joins the Gateway API build to an Ingress route table: one table, one data plane. Backends are
// shared by id (an Ingress and an HTTPRoute sending to the same Service port use one HAProxy backend), the
// certificates of HTTPS listeners join the Ingress ones in the one crt-list.
import type { Backend, BackendResolver, Certificate, RouteTable } from '../ingress/types.ts';
import type { GatewayBuild } from './build.ts';

function byKey<T>(key: (t: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/**
 * withGateways returns `table` with the Gateway routing, the backends its rules use (endpoints from
 * `resolver`) and its listeners' certificates added. A Secret used by both keeps the union of its SNI names
 * (no names, i.e. the certificate's own, when either side has none).
 * O((backends + certificates) log).
 */
export function withGateways(table: RouteTable, build: GatewayBuild, resolver: BackendResolver): RouteTable {
  const backends = new Map<string, Backend>(table.backends.map((b) => [b.id, b]));
  for (const ref of build.backends) {
    if (backends.has(ref.id)) continue;
    const r = resolver.endpoints(ref.namespace, ref.service, ref.port);
    const endpoints = [...r.endpoints].sort((x, y) =>
      x.address < y.address ? -1 : x.address > y.address ? 1 : x.port - y.port,
    );
    backends.set(ref.id, { id: ref.id, endpoints });
  }
  const certificates = new Map<string, Certificate>(table.certificates.map((c) => [c.secret, c]));
  for (const [secret, c] of build.certificates) {
    const have = certificates.get(secret);
    if (have) {
      // [] serves any name (the certificate's own), so it wins over a list
      const hosts =
        have.hosts.length && c.hosts.length ? [...new Set([...have.hosts, ...c.hosts])].sort() : [];
      certificates.set(secret, { ...have, hosts });
      continue;
    }
    const tls = resolver.tls(c.namespace, c.name);
    if (tls.pem === undefined) continue;
    certificates.set(secret, { secret, hosts: [...c.hosts].sort(), pem: tls.pem });
  }
  return {
    ...table,
    backends: [...backends.values()].sort(byKey((b) => b.id)),
    certificates: [...certificates.values()].sort(byKey((c) => c.secret)),
    gateway: build.routing,
  };
}
