// snapshotResolver: answers the builder's questions (Service port → ready endpoints, TLS Secret → PEM) from
// plain Service, EndpointSlice and Secret objects. Pure: the edge passes the snapshot in.
import { SERVICE_NAME_LABEL, endpointUsable, type EndpointConditions } from '../service/endpoints.ts';
import type { BackendResolver, Endpoint, EndpointsResult, TlsResult } from './types.ts';

/** ServiceObject is the part of a v1 Service the resolver reads. */
export interface ServiceObject {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    type?: string;
    ports?: { name?: string; port?: number; targetPort?: number | string; appProtocol?: string }[];
  };
}

/** EndpointSliceObject is the part of a discovery.k8s.io/v1 EndpointSlice the resolver reads. */
export interface EndpointSliceObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  addressType?: string;
  ports?: { name?: string | null; port?: number | null }[] | null;
  endpoints?: { addresses?: string[]; conditions?: EndpointConditions | null }[] | null;
}

/** SecretObject is the part of a v1 Secret the resolver reads; `data` values are base64. */
export interface SecretObject {
  metadata?: { name?: string; namespace?: string };
  type?: string;
  data?: Record<string, string>;
}

/** Snapshot is the cluster state the ingress reads besides Ingresses and IngressClasses. */
export interface Snapshot {
  services: readonly ServiceObject[];
  endpointSlices: readonly EndpointSliceObject[];
  secrets: readonly SecretObject[];
}

function decodeBase64(s: string): string | undefined {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/**
 * snapshotResolver indexes a snapshot (O(n)) and answers in O(slices of the Service). An Ingress port
 * number selects the Service port with that `port`; its name (empty for single unnamed ports) selects the
 * EndpointSlice port. Endpoints count by the one readiness rule, endpointUsable.
 */
export function snapshotResolver(snapshot: Snapshot): BackendResolver {
  const key = (ns: string | undefined, name: string | undefined): string =>
    `${ns ?? 'default'}/${name ?? ''}`;
  const services = new Map(snapshot.services.map((s) => [key(s.metadata?.namespace, s.metadata?.name), s]));
  const secrets = new Map(snapshot.secrets.map((s) => [key(s.metadata?.namespace, s.metadata?.name), s]));
  const slices = new Map<string, EndpointSliceObject[]>();
  for (const sl of snapshot.endpointSlices) {
    const svc = sl.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const k = key(sl.metadata?.namespace, svc);
    const list = slices.get(k);
    if (list) list.push(sl);
    else slices.set(k, [sl]);
  }

  return {
    endpoints(namespace, service, port): EndpointsResult {
      const k = key(namespace, service);
      const svc = services.get(k);
      if (!svc) return { endpoints: [], problem: `service "${k}" not found` };
      if (svc.spec?.type === 'ExternalName') {
        return { endpoints: [], problem: `service "${k}" is of type ExternalName, which is not supported` };
      }
      const sp = (svc.spec?.ports ?? []).find((p) =>
        port.number !== undefined ? p.port === port.number : (p.name ?? '') === port.name,
      );
      if (!sp) {
        return { endpoints: [], problem: `service "${k}" has no port ${port.number ?? `"${port.name}"`}` };
      }
      const portName = sp.name ?? '';
      const seen = new Set<string>();
      const out: Endpoint[] = [];
      for (const sl of slices.get(k) ?? []) {
        if (sl.addressType === 'FQDN') continue;
        const slicePort = (sl.ports ?? []).find((p) => (p.name ?? '') === portName)?.port;
        if (slicePort === undefined || slicePort === null) continue;
        for (const ep of sl.endpoints ?? []) {
          if (!endpointUsable(ep.conditions)) continue;
          const address = ep.addresses?.[0];
          if (!address) continue;
          const id = `${address}|${slicePort}`;
          if (seen.has(id)) continue;
          seen.add(id);
          out.push({ address, port: slicePort });
        }
      }
      if (out.length === 0) return { endpoints: [], problem: `service "${k}" has no ready endpoints` };
      return { endpoints: out };
    },

    tls(namespace, secretName): TlsResult {
      const k = key(namespace, secretName);
      const s = secrets.get(k);
      if (!s) return { problem: 'not found' };
      const crt = s.data?.['tls.crt'];
      const keyPem = s.data?.['tls.key'];
      if (!crt || !keyPem) return { problem: 'has no "tls.crt" or no "tls.key"' };
      const c = decodeBase64(crt);
      const kp = decodeBase64(keyPem);
      if (c === undefined || kp === undefined) return { problem: 'has data that is not base64' };
      if (!c.includes('-----BEGIN CERTIFICATE-----') || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(kp)) {
        return { problem: 'does not hold a PEM certificate and private key' };
      }
      return { pem: `${c.trimEnd()}\n${kp.trimEnd()}\n` };
    },
  };
}
