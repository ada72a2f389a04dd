// The Service view: what allocation needs from a Service, and nothing else. Only this file knows the shape of
// a core/v1 Service; the allocator reads ServiceView.
import { formatAddress, familyLabel, tryParseAddress } from '../address/address.ts';
import type { IPFamily } from '../config/model.ts';
import { ANNOTATIONS, DEPRECATED_PREFIX, STABLE_PREFIX, deprecatedKey } from '../contracts/annotations.ts';
import { isJsonObject, pickDefined, type JsonObject } from '../util/pick.ts';

/** IPFamilyPolicy is spec.ipFamilyPolicy (SingleStack when unset). */
export type IPFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

/** ServicePort is one (protocol, port) pair: two Services sharing an address must not have one in common. */
export interface ServicePort {
  protocol: string;
  port: number;
}

/**
 * ServiceView is a Service boiled down to what allocation needs. Addresses are canonical text. `problems`
 * lists what is wrong with the Service's own settings (both spec.loadBalancerIP and the annotation, a bad
 * address, two addresses of one family); the allocator refuses such a view and keeps what it holds.
 */
export interface ServiceView {
  /** key is "namespace/name". */
  key: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** type is spec.type ("ClusterIP" when unset). */
  type: string;
  loadBalancerClass?: string;
  /** creationTimestamp orders restores: the older Service keeps a contested address. */
  creationTimestamp?: string;
  /** requestedIPs from metallb.io/loadBalancerIPs or spec.loadBalancerIP: at most one per family. */
  requestedIPs: string[];
  /** requestedPool from metallb.io/address-pool. */
  requestedPool?: string;
  /** sharingKey from metallb.io/allow-shared-ip; "" means the Service does not share. */
  sharingKey: string;
  ports: ServicePort[];
  /** backendKey: with externalTrafficPolicy Local, the selector written canonically; "" with Cluster. */
  backendKey: string;
  /** ipFamilies from spec.ipFamilies (else the clusterIPs' families, else IPv4), primary first. */
  ipFamilies: IPFamily[];
  ipFamilyPolicy: IPFamilyPolicy;
  /** ingressIPs: the addresses in status.loadBalancer.ingress (the state of record). */
  ingressIPs: string[];
  /** deprecatedAnnotations: the metallb.universe.tf/ keys the Service still uses (for a Warning Event). */
  deprecatedAnnotations: string[];
  problems: string[];
}

const strings = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (isJsonObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function annotation(
  annotations: Record<string, string>,
  stable: string,
): { key: string; value: string } | undefined {
  if (Object.hasOwn(annotations, stable)) return { key: stable, value: annotations[stable] ?? '' };
  const old = deprecatedKey(stable);
  if (Object.hasOwn(annotations, old)) return { key: old, value: annotations[old] ?? '' };
  return undefined;
}

/**
 * canonicalSelector writes a label map as Kubernetes does ("a=1,b=2", keys sorted): equal selectors give equal
 * text, so it can serve as the backend key of an externalTrafficPolicy Local Service.
 */
export function canonicalSelector(selector: Readonly<Record<string, string>>): string {
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k] ?? ''}`)
    .join(',');
}

function familyOf(v: unknown): IPFamily | undefined {
  if (v === 'IPv4') return 'ipv4';
  if (v === 'IPv6') return 'ipv6';
  return undefined;
}

function requested(spec: JsonObject, annotations: Record<string, string>, problems: string[]): string[] {
  const ann = annotation(annotations, ANNOTATIONS.loadBalancerIPs);
  const specIP = str(spec.loadBalancerIP);
  if (ann && ann.value.trim() !== '' && specIP !== undefined) {
    problems.push(`spec.loadBalancerIP and ${ann.key} are both set: use only the annotation`);
    return [];
  }
  if (ann && ann.value.trim() !== '') {
    const out: string[] = [];
    const seen = new Set<IPFamily>();
    for (const part of ann.value.split(',')) {
      const a = tryParseAddress(part.trim());
      if (!a) {
        problems.push(`${ann.key} "${ann.value}" has an invalid address "${part.trim()}"`);
        return [];
      }
      if (seen.has(a.family)) {
        problems.push(
          `${ann.key} "${ann.value}" has two ${familyLabel(a.family)} addresses: give at most one per family`,
        );
        return [];
      }
      seen.add(a.family);
      out.push(formatAddress(a.family, a.value));
    }
    return out;
  }
  if (specIP !== undefined) {
    const a = tryParseAddress(specIP.trim());
    if (!a) {
      problems.push(`spec.loadBalancerIP "${specIP}" is not a valid IP address`);
      return [];
    }
    return [formatAddress(a.family, a.value)];
  }
  return [];
}

/**
 * toServiceView reads a Service-shaped plain object (as the API server or an informer returns it) into a
 * ServiceView. Never throws for bad user settings (they land in `problems`); throws a TypeError only when the
 * value is not an object with metadata.name and metadata.namespace. O(size of the object).
 */
export function toServiceView(svc: unknown): ServiceView {
  if (!isJsonObject(svc) || !isJsonObject(svc.metadata))
    throw new TypeError('toServiceView needs a Service object');
  const meta = svc.metadata;
  const name = str(meta.name);
  const namespace = str(meta.namespace);
  if (name === undefined || namespace === undefined) {
    throw new TypeError('toServiceView needs metadata.name and metadata.namespace');
  }
  const spec = isJsonObject(svc.spec) ? svc.spec : {};
  const annotations = strings(meta.annotations);
  const problems: string[] = [];

  const deprecatedAnnotations = Object.values(ANNOTATIONS)
    .filter((k) => k !== ANNOTATIONS.ipAllocatedFromPool)
    .map(deprecatedKey)
    .filter((k) => Object.hasOwn(annotations, k));

  const requestedIPs = requested(spec, annotations, problems);
  const pool = annotation(annotations, ANNOTATIONS.addressPool)?.value.trim();
  const sharingKey = annotation(annotations, ANNOTATIONS.allowSharedIP)?.value ?? '';

  const ports: ServicePort[] = [];
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports) {
      if (isJsonObject(p) && typeof p.port === 'number') {
        ports.push({ protocol: str(p.protocol) ?? 'TCP', port: p.port });
      }
    }
  }

  let ipFamilies: IPFamily[] = Array.isArray(spec.ipFamilies)
    ? spec.ipFamilies.map(familyOf).filter((f): f is IPFamily => f !== undefined)
    : [];
  if (ipFamilies.length === 0) {
    const ips = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [spec.clusterIP];
    ipFamilies = ips
      .map((ip) => (typeof ip === 'string' ? tryParseAddress(ip)?.family : undefined))
      .filter((f): f is IPFamily => f !== undefined);
  }
  if (ipFamilies.length === 0) ipFamilies = ['ipv4'];
  ipFamilies = [...new Set(ipFamilies)].slice(0, 2);

  const policy = str(spec.ipFamilyPolicy);
  const ipFamilyPolicy: IPFamilyPolicy =
    policy === 'PreferDualStack' || policy === 'RequireDualStack' ? policy : 'SingleStack';

  const status = isJsonObject(svc.status) ? svc.status : {};
  const lb = isJsonObject(status.loadBalancer) ? status.loadBalancer : {};
  const ingressIPs: string[] = [];
  if (Array.isArray(lb.ingress)) {
    for (const entry of lb.ingress) {
      const a = isJsonObject(entry) && typeof entry.ip === 'string' ? tryParseAddress(entry.ip) : undefined;
      if (a) ingressIPs.push(formatAddress(a.family, a.value));
    }
  }

  const view: ServiceView = {
    key: `${namespace}/${name}`,
    namespace,
    name,
    labels: strings(meta.labels),
    type: str(spec.type) ?? 'ClusterIP',
    requestedIPs,
    sharingKey,
    ports,
    backendKey: spec.externalTrafficPolicy === 'Local' ? canonicalSelector(strings(spec.selector)) : '',
    ipFamilies,
    ipFamilyPolicy,
    ingressIPs,
    deprecatedAnnotations,
    problems,
  };
  const lbClass = str(spec.loadBalancerClass);
  if (lbClass !== undefined) view.loadBalancerClass = lbClass;
  const created = str(meta.creationTimestamp);
  if (created !== undefined) view.creationTimestamp = created;
  if (pool) view.requestedPool = pool;
  return view;
}

/**
 * isOurs reports whether this load balancer serves the Service's class: with no `lbClass` (no --lb-class flag)
 * only Services without spec.loadBalancerClass; with one, exactly that class. It does not look at spec.type.
 */
export function isOurs(view: Pick<ServiceView, 'loadBalancerClass'>, lbClass?: string): boolean {
  if (lbClass === undefined || lbClass === '') return view.loadBalancerClass === undefined;
  return view.loadBalancerClass === lbClass;
}

/** SLIM_SPEC are the spec fields toServiceView and the controller read (ports are cut to protocol and port). */
const SLIM_SPEC = [
  'type',
  'loadBalancerClass',
  'loadBalancerIP',
  'ipFamilies',
  'ipFamilyPolicy',
  'clusterIP',
  'clusterIPs',
  'externalTrafficPolicy',
  'selector',
] as const;
/** SLIM_METADATA are the metadata fields kept: identity, versions, order of restores and selectors. */
const SLIM_METADATA = [
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'labels',
] as const;

/**
 * slimService returns the part of a Service-shaped object the controller reads, for its cache: metadata
 * identity and versions, labels, the metallb.io/ and metallb.universe.tf/ annotations, the spec fields
 * toServiceView reads (ports as protocol and port) and status.loadBalancer and status.conditions. Everything
 * else (other annotations, managedFields, targetPorts, session affinity, …) is dropped, so a cached Service
 * costs what allocation needs. toServiceView gives the same view of the result as of the original. Values are
 * shared with the argument, not copied. O(size of the object).
 */
export function slimService<T>(svc: T): T {
  if (!isJsonObject(svc)) return svc;
  const out: JsonObject = { ...svc };
  if (isJsonObject(svc.metadata)) {
    const m = svc.metadata;
    const meta = pickDefined(m, SLIM_METADATA);
    if (isJsonObject(m.annotations)) {
      const ours = Object.entries(m.annotations).filter(
        ([k]) => k.startsWith(STABLE_PREFIX) || k.startsWith(DEPRECATED_PREFIX),
      );
      if (ours.length > 0) meta.annotations = Object.fromEntries(ours);
    }
    out.metadata = meta;
  }
  if (isJsonObject(svc.spec)) {
    const s = svc.spec;
    const spec = pickDefined(s, SLIM_SPEC);
    if (Array.isArray(s.ports))
      spec.ports = s.ports.map((p) => (isJsonObject(p) ? { protocol: p.protocol, port: p.port } : p));
    out.spec = spec;
  }
  if (isJsonObject(svc.status)) {
    const { loadBalancer, conditions } = svc.status;
    out.status = {
      ...(loadBalancer !== undefined ? { loadBalancer } : {}),
      ...(conditions !== undefined ? { conditions } : {}),
    };
  }
  return out as T;
}
