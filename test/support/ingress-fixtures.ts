// Test helpers for the ingress core: compact Ingress objects and a fake resolver. Used by tests only.
import type { BackendResolver, IngressClassObject, IngressObject } from '../../src/ingress/types.ts';

/** OUR_CLASS is an IngressClass of ours, marked default. */
export const OUR_CLASS: IngressClassObject = {
  metadata: { name: 'ironlb', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
  spec: { controller: 'ironlb.io/ingress' },
};

/** OTHER_CLASS belongs to another controller. */
export const OTHER_CLASS: IngressClassObject = {
  metadata: { name: 'nginx' },
  spec: { controller: 'k8s.io/ingress-nginx' },
};

/** P is one path: [path, pathType, service]. */
export type P = [string, string, string];

/** ing builds an Ingress object compactly. */
export function ing(
  name: string,
  o: {
    ns?: string;
    created?: string;
    className?: string;
    annotations?: Record<string, string>;
    rules?: { host?: string; paths: P[] }[];
    tls?: { hosts?: string[]; secretName?: string }[];
    defaultBackend?: string;
  } = {},
): IngressObject {
  const backend = (svc: string) => ({ service: { name: svc, port: { number: 80 } } });
  return {
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      creationTimestamp: o.created ?? '2024-01-01T00:00:00Z',
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      ...(o.className !== undefined ? { ingressClassName: o.className } : {}),
      ...(o.defaultBackend ? { defaultBackend: backend(o.defaultBackend) } : {}),
      ...(o.tls ? { tls: o.tls } : {}),
      rules: (o.rules ?? []).map((r) => ({
        ...(r.host !== undefined ? { host: r.host } : {}),
        http: { paths: r.paths.map(([path, pathType, svc]) => ({ path, pathType, backend: backend(svc) })) },
      })),
    },
  };
}

/** fakeResolver: every Service has one endpoint 10.0.0.1:8080 except those in `missing`; `secrets` lists TLS secrets ("ns/name"). */
export function fakeResolver(o: { missing?: string[]; secrets?: string[] } = {}): BackendResolver {
  return {
    endpoints(ns, svc) {
      if (o.missing?.includes(`${ns}/${svc}`))
        return { endpoints: [], problem: `service "${ns}/${svc}" not found` };
      return { endpoints: [{ address: '10.0.0.1', port: 8080 }] };
    },
    tls(ns, name) {
      return o.secrets?.includes(`${ns}/${name}`) ? { pem: `PEM ${ns}/${name}\n` } : { problem: 'not found' };
    },
  };
}
