// reconcile(snapshot): the seam between the Kubernetes watch (informers, done by the caller) and the data
// plane. It takes plain objects, builds the route table with the pure core, and drives the data plane.
// It remembers the last good version of each Ingress so a broken edit keeps serving the previous one.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { buildRouteTable, ingressKey, type BuildOptions } from '../src/ingress/build.ts';
import { snapshotResolver, type Snapshot } from '../src/ingress/resolve.ts';
import type {
  BackendResolver,
  IngressClassObject,
  IngressObject,
  Issue,
  RouteTable,
} from '../src/ingress/types.ts';
import type { ApplyResult } from './dataplane.ts';

/** IngressSnapshot is everything one reconcile reads: the informers' caches as plain objects. */
export interface IngressSnapshot extends Snapshot {
  ingressClasses: readonly IngressClassObject[];
  ingresses: readonly IngressObject[];
}

/** ReconcileResult is the built table, how it was applied, and the issues to turn into Events. */
export interface ReconcileResult {
  table: RouteTable;
  applied: ApplyResult;
  issues: Issue[];
}

/** ReconcilerOptions: where tables go, and the builder's options (controller name, class-less Ingresses). */
export interface ReconcilerOptions extends Omit<BuildOptions, 'lastGood'> {
  dataplane: { apply(table: RouteTable): Promise<ApplyResult> };
  /** extend adds to the Ingress table before it is applied (the Gateway API routes: ingress/gateway.ts). */
  extend?(table: RouteTable, snapshot: IngressSnapshot, resolver: BackendResolver): RouteTable;
}

/**
 * verifyingResolver wraps a resolver so a TLS Secret whose certificate or key does not parse, or whose key
 * does not match the certificate, is reported as a problem instead of reaching the data plane.
 */
export function verifyingResolver(inner: BackendResolver): BackendResolver {
  return {
    endpoints: (ns, svc, port) => inner.endpoints(ns, svc, port),
    tls(ns, name) {
      const r = inner.tls(ns, name);
      if (r.pem === undefined) return r;
      try {
        const cert = new X509Certificate(r.pem);
        const key = createPrivateKey(r.pem);
        if (!cert.checkPrivateKey(key))
          return { problem: 'has a private key that does not match its certificate' };
        return r;
      } catch (err) {
        return { problem: `does not parse (${(err as Error).message})` };
      }
    },
  };
}

/** Reconciler drives a data plane from snapshots; keep one per data plane. */
export interface Reconciler {
  reconcile(snapshot: IngressSnapshot): Promise<ReconcileResult>;
}

/** createReconciler returns a reconciler; its `reconcile` is level-based: it reads only the snapshot it is given. */
export function createReconciler(options: ReconcilerOptions): Reconciler {
  const lastGood = new Map<string, IngressObject>();
  return {
    async reconcile(snapshot) {
      const resolver = verifyingResolver(snapshotResolver(snapshot));
      const table = buildRouteTable(
        { ingressClasses: snapshot.ingressClasses, ingresses: snapshot.ingresses, resolver },
        {
          ...(options.controller !== undefined ? { controller: options.controller } : {}),
          ...(options.watchWithoutClass !== undefined
            ? { watchWithoutClass: options.watchWithoutClass }
            : {}),
          lastGood,
        },
      );
      const present = new Map(snapshot.ingresses.map((i) => [ingressKey(i), i]));
      for (const key of [...lastGood.keys()]) if (!present.has(key)) lastGood.delete(key);
      for (const key of table.accepted) {
        const obj = present.get(key);
        if (obj) lastGood.set(key, obj);
      }
      const full = options.extend ? options.extend(table, snapshot, resolver) : table;
      const applied = await options.dataplane.apply(full);
      return { table: full, applied, issues: table.issues };
    },
  };
}
