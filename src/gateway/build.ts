// buildGateways: the one parse step from GatewayClasses, Gateways, HTTPRoutes and ReferenceGrants (+ Services,
// Namespaces and a resolver for endpoints and TLS Secrets) to what the data plane serves (GatewayRouting, the
// backends and certificates it needs) and the status every object must get, with the spec's reasons.
// Deterministic whatever the order of the input arrays; a bad object gets a condition and never touches others.
import { selectorMatches } from '../config/selector.ts';
import { regexPathProblem, normalizePrefix, literalPathProblem, hostProblem } from '../ingress/paths.ts';
import type { ServiceObject } from '../ingress/resolve.ts';
import type { BackendResolver } from '../ingress/types.ts';
import type { StatusAddress } from '../ingress/status.ts';
import { compareHostSpecificity, intersectHostname } from './hostnames.ts';
import { grpcPrecedence, grpcRouteAsHttp, type GRPCRouteObject } from './grpc.ts';
import { gatewayFrom, referenceGranted, routeFrom, type RefFrom } from './refs.ts';
import { attachTlsRoutes, tlsListenerProblem } from './tls.ts';
import { addressesInNoPool, type PoolObject } from './addresses.ts';
import {
  GATEWAY_CONTROLLER,
  GATEWAY_GROUP,
  type Condition,
  type GatewayClassObject,
  type GatewayListener,
  type GatewayObject,
  type GatewayRouting,
  type GatewayRule,
  type HeaderModifierObject,
  type HeaderOps,
  type HTTPRouteFilterObject,
  type HTTPRouteObject,
  type ListenerObject,
  type NamespaceObject,
  type ObjectRef,
  type PathMatch,
  type PathModifierObject,
  type PassthroughListener,
  type PathReplace,
  type Redirect,
  type ReferenceGrantObject,
  type RouteParentStatusObject,
  type TLSRouteObject,
  type ValueMatch,
  type ValueMatchObject,
  type WeightedBackend,
} from './types.ts';

/** SUPPORTED_FEATURES are the conformance features we claim (GatewayClass status.supportedFeatures), sorted. */
export const SUPPORTED_FEATURES = [
  'GRPCRoute',
  'GRPCRouteNamedRouteRule',
  'Gateway',
  'GatewayAddressEmpty',
  'GatewayHTTPListenerIsolation',
  'GatewayPort8080',
  'GatewayStaticAddresses',
  'HTTPRoute',
  'HTTPRoute303RedirectStatusCode',
  'HTTPRoute307RedirectStatusCode',
  'HTTPRoute308RedirectStatusCode',
  'HTTPRouteBackendProtocolH2C',
  'HTTPRouteBackendProtocolWebSocket',
  'HTTPRouteBackendTimeout',
  'HTTPRouteHostRewrite',
  'HTTPRouteMethodMatching',
  'HTTPRouteNamedRouteRule',
  'HTTPRouteParentRefPort',
  'HTTPRoutePathRedirect',
  'HTTPRoutePathRewrite',
  'HTTPRoutePortRedirect',
  'HTTPRouteQueryParamMatching',
  'HTTPRouteRequestTimeout',
  'HTTPRouteResponseHeaderModification',
  'HTTPRouteSchemeRedirect',
  'ReferenceGrant',
  'TLSRoute',
] as const;

/** ROUTE_KINDS: the route kinds a listener of each protocol we serve accepts (all of them when it names none). */
export const ROUTE_KINDS: Readonly<Record<string, readonly string[]>> = {
  HTTP: ['HTTPRoute', 'GRPCRoute'],
  HTTPS: ['HTTPRoute', 'GRPCRoute'],
  TLS: ['TLSRoute'],
};

/** PortRange is an inclusive range of proxy ports. */
export interface PortRange {
  first: number;
  last: number;
}

/** GatewayInput is everything the builder reads. */
export interface GatewayInput {
  gatewayClasses: readonly GatewayClassObject[];
  gateways: readonly GatewayObject[];
  httpRoutes: readonly HTTPRouteObject[];
  referenceGrants: readonly ReferenceGrantObject[];
  namespaces: readonly NamespaceObject[];
  services: readonly ServiceObject[];
  resolver: BackendResolver;
  /** assignedPorts: proxy port already given to "namespace/gateway/port" (read back from the Gateway's Service). */
  assignedPorts: ReadonlyMap<string, number>;
  /**
   * addressPools: the IPAddressPools requested Gateway addresses must lie in (AddressNotUsable otherwise);
   * absent: not checked.
   */
  addressPools?: readonly PoolObject[];
  /** tlsRoutes: TLSRoutes (absent: none). */
  tlsRoutes?: readonly TLSRouteObject[];
  /** grpcRoutes: GRPCRoutes (absent: none). */
  grpcRoutes?: readonly GRPCRouteObject[];
  /** addresses of each Gateway's Service ("namespace/name" of the Gateway); absent or empty: none yet. */
  addresses: ReadonlyMap<string, readonly StatusAddress[]>;
}

/** GatewayBuildOptions: our controller name and the proxy port ranges for HTTP and HTTPS listeners. */
export interface GatewayBuildOptions {
  controllerName?: string;
  httpPorts: PortRange;
  httpsPorts: PortRange;
  /** tlsPorts: proxy ports of listener ports with a TLS passthrough listener; absent: TLS listeners get none. */
  tlsPorts?: PortRange;
}

/** GatewayBackendRef is a Service port a rule sends to; `id` is the RouteTable backend id. */
export interface GatewayBackendRef {
  id: string;
  namespace: string;
  service: string;
  port: { number: number };
}

/** ListenerStatus is one `status.listeners[]` entry. */
export interface ListenerStatus {
  name: string;
  supportedKinds: { group: string; kind: string }[];
  attachedRoutes: number;
  conditions: Condition[];
}

/** GatewayStatus is the status of one Gateway (addresses from its Service). */
export interface GatewayStatus {
  addresses: { type: 'IPAddress' | 'Hostname'; value: string }[];
  conditions: Condition[];
  listeners: ListenerStatus[];
}

/** GatewayServicePort is one port of a Gateway's Service: the listener port → the proxy port. */
export interface GatewayServicePort {
  name: string;
  port: number;
  targetPort: number;
}

/** GatewayServiceSpec is what the Gateway's LoadBalancer Service must be. */
export interface GatewayServiceSpec {
  gateway: string;
  namespace: string;
  gatewayName: string;
  name: string;
  ports: GatewayServicePort[];
  /** requestedIPs from `spec.addresses` of type IPAddress (→ metallb.io/loadBalancerIPs). */
  requestedIPs: string[];
}

/** GatewayBuild is the result: routing, what it needs, and every status. */
export interface GatewayBuild {
  routing: GatewayRouting;
  backends: GatewayBackendRef[];
  /** certificates: "namespace/name" of each Secret → the SNI names it serves ([] = the names in it). */
  certificates: Map<string, { namespace: string; name: string; hosts: string[] }>;
  classStatus: Map<string, { conditions: Condition[]; supportedFeatures: { name: string }[] }>;
  gatewayStatus: Map<string, GatewayStatus>;
  /** routeStatus: "namespace/name" → our `status.parents` entries (one per parentRef to a Gateway of ours). */
  routeStatus: Map<string, RouteParentStatusObject[]>;
  /** tlsRouteStatus: the same for TLSRoutes. */
  tlsRouteStatus: Map<string, RouteParentStatusObject[]>;
  /** grpcRouteStatus: the same for GRPCRoutes. */
  grpcRouteStatus: Map<string, RouteParentStatusObject[]>;
  services: GatewayServiceSpec[];
}

/** objectKey returns "namespace/name". */
export function objectKey(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
}

function timestampMs(t: string | Date | undefined): number {
  if (t === undefined) return Number.POSITIVE_INFINITY;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** compareAge orders objects oldest first, then by "namespace/name" (the spec's tie-breaks). */
export function compareAge(
  a: { metadata?: { creationTimestamp?: string | Date; namespace?: string; name?: string } },
  b: { metadata?: { creationTimestamp?: string | Date; namespace?: string; name?: string } },
): number {
  const ta = timestampMs(a.metadata?.creationTimestamp);
  const tb = timestampMs(b.metadata?.creationTimestamp);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = objectKey(a);
  const kb = objectKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** cond builds a condition; observedGeneration only when the object has a generation. */
export function cond(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  generation: number | undefined,
): Condition {
  return {
    type,
    status: ok ? 'True' : 'False',
    reason,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

/**
 * parseDuration reads a Gateway API Duration (`1h`, `10s`, `500ms`, `1m30s`) into milliseconds, or undefined
 * when it is not one.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text);
  if (!m || text === '') return undefined;
  const [, h = '0', mi = '0', s = '0', ms = '0'] = m;
  return ((Number(h) * 60 + Number(mi)) * 60 + Number(s)) * 1000 + Number(ms);
}

/** gatewayServiceName is the name of a Gateway's Service: a DNS-1035 label derived from the Gateway's name. */
export function gatewayServiceName(gatewayName: string): string {
  const base = `ironlb-${gatewayName.replace(/[^a-z0-9-]/g, '-')}`;
  if (base.length <= 63) return base;
  let h = 0x811c9dc5;
  for (let i = 0; i < gatewayName.length; i++) {
    h ^= gatewayName.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${base.slice(0, 54)}-${h.toString(16).padStart(8, '0')}`;
}

function isIP(text: string): boolean {
  return /^(\d{1,3}\.){3}\d{1,3}$/.test(text) || (text.includes(':') && /^[0-9a-fA-F:.]+$/.test(text));
}

/** ListenerState is one listener of one of our Gateways while building. */
export interface ListenerState {
  obj: ListenerObject;
  name: string;
  port: number;
  protocol: string;
  hostname: string;
  supportedKinds: { group: string; kind: string }[];
  accepted: { ok: boolean; reason: string; message: string };
  conflicted?: { reason: string; message: string };
  refs: { ok: boolean; reason: string; message: string };
  certs: { namespace: string; name: string }[];
  attached: number;
  internalPort?: number;
  programmable: boolean;
}

/** GatewayState is one of our Gateways while building. */
export interface GatewayState {
  obj: GatewayObject;
  key: string;
  namespace: string;
  generation: number | undefined;
  listeners: ListenerState[];
  addressProblem?: string;
}

function validateListeners(gw: GatewayObject, input: GatewayInput): ListenerState[] {
  const namespace = gw.metadata?.namespace ?? 'default';
  const states: ListenerState[] = (gw.spec?.listeners ?? []).map((l) => {
    const protocol = l.protocol ?? '';
    const s: ListenerState = {
      obj: l,
      name: l.name ?? '',
      port: l.port ?? 0,
      protocol,
      hostname: l.hostname ? l.hostname.toLowerCase() : '*',
      supportedKinds: [],
      accepted: { ok: true, reason: 'Accepted', message: 'Listener is accepted' },
      refs: { ok: true, reason: 'ResolvedRefs', message: 'All references are resolved' },
      certs: [],
      attached: 0,
      programmable: false,
    };
    const routeKinds = ROUTE_KINDS[protocol];
    if (routeKinds === undefined) {
      s.accepted = {
        ok: false,
        reason: 'UnsupportedProtocol',
        message: `Protocol "${protocol}" is not supported (${Object.keys(ROUTE_KINDS).join(', ')} are)`,
      };
      return s;
    }
    if (protocol === 'TLS') {
      const problem = tlsListenerProblem(l);
      if (problem !== undefined) {
        s.accepted = { ok: false, reason: 'UnsupportedValue', message: problem };
        return s;
      }
    }
    const kinds = l.allowedRoutes?.kinds;
    if (kinds === undefined || kinds.length === 0) {
      s.supportedKinds = routeKinds.map((kind) => ({ group: GATEWAY_GROUP, kind }));
    } else {
      const bad: string[] = [];
      for (const k of kinds) {
        const group = k.group ?? GATEWAY_GROUP;
        const kind = k.kind ?? '';
        if (group === GATEWAY_GROUP && routeKinds.includes(kind)) {
          if (!s.supportedKinds.some((x) => x.kind === kind)) s.supportedKinds.push({ group, kind });
        } else bad.push(`${group}/${kind}`);
      }
      if (bad.length > 0) {
        s.refs = {
          ok: false,
          reason: 'InvalidRouteKinds',
          message: `Route kinds ${bad.map((b) => `"${b}"`).join(', ')} are not supported on a ${protocol} listener`,
        };
      }
    }
    if (protocol === 'HTTPS') {
      const mode = l.tls?.mode ?? 'Terminate';
      if (mode !== 'Terminate') {
        s.accepted = {
          ok: false,
          reason: 'UnsupportedValue',
          message: `TLS mode "${mode}" is not supported on an HTTPS listener (Terminate is)`,
        };
        return s;
      }
      const refs = l.tls?.certificateRefs ?? [];
      if (refs.length === 0) {
        s.refs = {
          ok: false,
          reason: 'InvalidCertificateRef',
          message: 'An HTTPS listener needs certificateRefs',
        };
      }
      for (const ref of refs) {
        const group = ref.group ?? '';
        const kind = ref.kind ?? 'Secret';
        const refNs = ref.namespace ?? namespace;
        const name = ref.name ?? '';
        const where = `Certificate reference "${refNs}/${name}"`;
        if (group !== '' || kind !== 'Secret') {
          s.refs = {
            ok: false,
            reason: 'InvalidCertificateRef',
            message: `${where} is of kind "${group}/${kind}"; only core Secrets are supported`,
          };
          continue;
        }
        if (
          !referenceGranted(input.referenceGrants, gatewayFrom(namespace), {
            group: '',
            kind: 'Secret',
            namespace: refNs,
            name,
          })
        ) {
          s.refs = {
            ok: false,
            reason: 'RefNotPermitted',
            message: `${where} is in another namespace and no ReferenceGrant there allows it`,
          };
          continue;
        }
        const tls = input.resolver.tls(refNs, name);
        if (tls.problem !== undefined) {
          s.refs = { ok: false, reason: 'InvalidCertificateRef', message: `${where}: Secret ${tls.problem}` };
          continue;
        }
        s.certs.push({ namespace: refNs, name });
      }
    }
    return s;
  });

  // Conflicts among listeners of one Gateway: one port, two protocols; or one port and hostname twice.
  const byPort = new Map<number, ListenerState[]>();
  for (const s of states) {
    if (!s.accepted.ok) continue;
    const list = byPort.get(s.port) ?? [];
    list.push(s);
    byPort.set(s.port, list);
  }
  for (const [port, list] of byPort) {
    const protocols = new Set(list.map((s) => s.protocol));
    // HTTPS and TLS passthrough share a port: the proxy tells them apart by SNI (src/gateway/tls.ts)
    if (protocols.size > 1 && !(protocols.size === 2 && protocols.has('HTTPS') && protocols.has('TLS'))) {
      for (const s of list)
        s.conflicted = {
          reason: 'ProtocolConflict',
          message: `Port ${port} is used with protocols ${[...protocols].sort().join(' and ')}`,
        };
      continue;
    }
    const seen = new Map<string, number>();
    for (const s of list) seen.set(s.hostname, (seen.get(s.hostname) ?? 0) + 1);
    for (const s of list)
      if ((seen.get(s.hostname) ?? 0) > 1)
        s.conflicted = {
          reason: 'HostnameConflict',
          message: `Another listener on port ${port} has hostname "${s.hostname}"`,
        };
  }
  for (const s of states) {
    s.programmable =
      s.accepted.ok &&
      s.conflicted === undefined &&
      s.supportedKinds.length > 0 &&
      (s.protocol !== 'HTTPS' || s.certs.length > 0);
  }
  return states;
}

/**
 * assignInternalPorts gives each "namespace/gateway/port" key a proxy port from `range`: a port assigned before
 * is kept while it lies in the range and no other key holds it; new keys get the lowest free port, in key
 * order. Keys with no port left are absent from the result. O(keys + range).
 */
export function assignInternalPorts(
  keys: readonly string[],
  assigned: ReadonlyMap<string, number>,
  range: PortRange,
): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Set<number>();
  const sorted = [...new Set(keys)].sort();
  for (const k of sorted) {
    const p = assigned.get(k);
    if (p !== undefined && p >= range.first && p <= range.last && !used.has(p)) {
      out.set(k, p);
      used.add(p);
    }
  }
  let next = range.first;
  for (const k of sorted) {
    if (out.has(k)) continue;
    while (next <= range.last && used.has(next)) next++;
    if (next > range.last) break;
    out.set(k, next);
    used.add(next);
  }
  return out;
}

function headerOps(m: HeaderModifierObject | undefined, lower: boolean): HeaderOps | string {
  const ops: HeaderOps = { set: [], add: [], remove: [] };
  for (const [list, target] of [
    [m?.set, ops.set],
    [m?.add, ops.add],
  ] as const) {
    for (const h of list ?? []) {
      if (!h.name || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(h.name))
        return `header name "${h.name ?? ''}" is invalid`;
      target.push({ name: lower ? h.name.toLowerCase() : h.name, value: h.value ?? '' });
    }
  }
  for (const r of m?.remove ?? []) ops.remove.push(r);
  return ops;
}

function pathReplace(
  p: PathModifierObject | undefined,
  matchPath: PathMatch,
): PathReplace | string | undefined {
  if (!p) return undefined;
  if (p.type === 'ReplaceFullPath') return { kind: 'full', value: p.replaceFullPath ?? '/' };
  if (p.type === 'ReplacePrefixMatch') {
    if (matchPath.kind !== 'Prefix') return 'ReplacePrefixMatch needs a PathPrefix match';
    return { kind: 'prefix', prefix: matchPath.value, value: p.replacePrefixMatch ?? '/' };
  }
  return `path modifier type "${p.type ?? ''}" is not supported`;
}

function valueMatches(
  list: readonly ValueMatchObject[] | undefined,
  lower: boolean,
  what: string,
): ValueMatch[] | string {
  const out: ValueMatch[] = [];
  const seen = new Set<string>();
  for (const m of list ?? []) {
    const name = lower ? (m.name ?? '').toLowerCase() : (m.name ?? '');
    if (name === '') return `a ${what} match has no name`;
    if (seen.has(name)) continue; // the spec: only the first match of a name counts
    seen.add(name);
    const type = m.type ?? 'Exact';
    if (type === 'Exact') out.push({ name, kind: 'Exact', value: m.value ?? '' });
    else if (type === 'RegularExpression') {
      try {
        new RegExp(m.value ?? '');
      } catch (err) {
        return `${what} "${name}" has an invalid regular expression (${(err as Error).message})`;
      }
      out.push({ name, kind: 'Regex', value: m.value ?? '' });
    } else return `${what} match type "${type}" is not supported`;
  }
  return out;
}

/** RouteEntry is one HTTPRoute or GRPCRoute. */
type RouteEntry = { kind: 'HTTPRoute'; obj: HTTPRouteObject } | { kind: 'GRPCRoute'; obj: GRPCRouteObject };

interface ParsedRoute {
  rules: Omit<GatewayRule, 'route'>[];
  /** unsupported: Accepted False UnsupportedValue with this message. */
  unsupported?: string;
  /** refs: ResolvedRefs False with this reason and message. */
  refs?: { reason: string; message: string };
  backends: GatewayBackendRef[];
}

/**
 * resolveBackendRef checks one backendRef of a route (made `from` a route kind and namespace): a core Service,
 * allowed across namespaces by a ReferenceGrant, existing, with the port. The backend, or the ResolvedRefs
 * reason and message (`where` names the reference in it). O(grants + Service ports).
 */
export function resolveBackendRef(
  ref: ObjectRef,
  from: RefFrom,
  where: string,
  input: Pick<GatewayInput, 'referenceGrants'>,
  services: ReadonlyMap<string, ServiceObject>,
): GatewayBackendRef | { reason: string; message: string } {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  const ns = ref.namespace ?? from.namespace;
  const name = ref.name ?? '';
  if (group !== '' || kind !== 'Service')
    return {
      reason: 'InvalidKind',
      message: `${where} is of kind "${group}/${kind}"; only Services are supported`,
    };
  if (!referenceGranted(input.referenceGrants, from, { group: '', kind: 'Service', namespace: ns, name }))
    return {
      reason: 'RefNotPermitted',
      message: `${where} points to Service "${ns}/${name}" in another namespace and no ReferenceGrant there allows it`,
    };
  const svc = services.get(`${ns}/${name}`);
  if (!svc) return { reason: 'BackendNotFound', message: `${where}: Service "${ns}/${name}" not found` };
  if (ref.port === undefined)
    return { reason: 'UnsupportedValue', message: `${where}: Service "${ns}/${name}" needs a port` };
  if (!(svc.spec?.ports ?? []).some((p) => p.port === ref.port))
    return {
      reason: 'BackendNotFound',
      message: `${where}: Service "${ns}/${name}" has no port ${ref.port}`,
    };
  return { id: `${ns}/${name}:${ref.port}`, namespace: ns, service: name, port: { number: ref.port } };
}

function parseRoute(route: HTTPRouteObject, input: GatewayInput, routeKind = 'HTTPRoute'): ParsedRoute {
  const namespace = route.metadata?.namespace ?? 'default';
  const services = new Map(input.services.map((s) => [objectKey(s), s]));
  const backends: GatewayBackendRef[] = [];
  let refs: ParsedRoute['refs'];
  const unsupported: string[] = [];
  const rules: Omit<GatewayRule, 'route'>[] = [];

  // backends whose Service port says `appProtocol: kubernetes.io/h2c` are spoken to over HTTP/2 without TLS
  const h2c = new Set<string>();
  const backendRef = (ref: ObjectRef, where: string): string | null => {
    const r = resolveBackendRef(ref, routeFrom(routeKind, namespace), where, input, services);
    if ('reason' in r) {
      refs ??= r;
      return null;
    }
    if (!backends.some((b) => b.id === r.id)) backends.push(r);
    const port = services
      .get(`${r.namespace}/${r.service}`)
      ?.spec?.ports?.find((p) => p.port === r.port.number);
    if (port?.appProtocol === 'kubernetes.io/h2c') h2c.add(r.id);
    return r.id;
  };

  (route.spec?.rules ?? []).forEach((rule, ri) => {
    const where = `rule ${ri}`;
    let timeoutMs: number | undefined;
    for (const [field, text] of [
      ['request', rule.timeouts?.request],
      ['backendRequest', rule.timeouts?.backendRequest],
    ] as const) {
      if (text === undefined) continue;
      const ms = parseDuration(text);
      if (ms === undefined) unsupported.push(`${where}: timeouts.${field} "${text}" is not a duration`);
      else if (ms > 0) timeoutMs = timeoutMs === undefined ? ms : Math.min(timeoutMs, ms);
    }
    const weighted: WeightedBackend[] = [];
    (rule.backendRefs ?? []).forEach((b, bi) => {
      if ((b.filters ?? []).length > 0)
        unsupported.push(`${where} backendRef ${bi}: filters on a backendRef are not supported`);
      const weight = b.weight ?? 1;
      const id = backendRef(b, `${where} backendRef ${bi}`);
      if (weight > 0)
        weighted.push({ backend: id, weight, ...(id !== null && h2c.has(id) ? { h2: true } : {}) });
    });
    const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
    matches.forEach((m, mi) => {
      const mwhere = `${where} match ${mi}`;
      const type = m.path?.type ?? 'PathPrefix';
      const value = m.path?.value ?? '/';
      let path: PathMatch;
      if (type === 'Exact' || type === 'PathPrefix') {
        const p = literalPathProblem(value);
        if (p) {
          unsupported.push(`${mwhere}: path "${value}" ${p}`);
          return;
        }
        path =
          type === 'Exact' ? { kind: 'Exact', value } : { kind: 'Prefix', value: normalizePrefix(value) };
      } else if (type === 'RegularExpression') {
        const p = regexPathProblem(value.replace(/^\^/, '').replace(/\$$/, ''));
        if (p) {
          unsupported.push(`${mwhere}: regular expression "${value}" ${p}`);
          return;
        }
        path = { kind: 'Regex', value: value.replace(/^\^/, '').replace(/\$$/, '') };
      } else {
        unsupported.push(`${mwhere}: path match type "${type}" is not supported`);
        return;
      }
      const headers = valueMatches(m.headers, true, 'header');
      const query = valueMatches(m.queryParams, false, 'query parameter');
      if (typeof headers === 'string' || typeof query === 'string') {
        unsupported.push(`${mwhere}: ${typeof headers === 'string' ? headers : (query as string)}`);
        return;
      }
      const out: Omit<GatewayRule, 'route'> = {
        rule: ri,
        match: mi,
        path,
        headers,
        query,
        backends: weighted,
      };
      if (m.method) out.method = m.method.toUpperCase();
      if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
      for (const f of rule.filters ?? []) {
        const problem = applyFilter(out, f, path, (ref) => backendRef(ref, `${where} mirror`));
        if (problem) unsupported.push(`${where}: ${problem}`);
      }
      rules.push(out);
    });
  });

  return {
    rules,
    ...(unsupported.length > 0 ? { unsupported: unsupported.join('; ') } : {}),
    ...(refs ? { refs } : {}),
    backends,
  };
}

/**
 * parseGrpcRoute parses a GRPCRoute through what it means as an HTTPRoute (src/gateway/grpc.ts): its rules get
 * the gRPC precedence, its backends HTTP/2.
 */
function parseGrpcRoute(route: GRPCRouteObject, input: GatewayInput): ParsedRoute {
  const asHttp = grpcRouteAsHttp(route);
  const parsed = parseRoute(asHttp.route, input, 'GRPCRoute');
  const unsupported = [
    ...asHttp.unsupported,
    ...(parsed.unsupported !== undefined ? [parsed.unsupported] : []),
  ];
  return {
    ...parsed,
    rules: parsed.rules.map((r) => ({
      ...r,
      grpc: grpcPrecedence(route, r.rule, r.match),
      backends: r.backends.map((b) => ({ ...b, h2: true })),
    })),
    ...(unsupported.length > 0 ? { unsupported: unsupported.join('; ') } : {}),
  };
}

function applyFilter(
  out: Omit<GatewayRule, 'route'>,
  f: HTTPRouteFilterObject,
  path: PathMatch,
  mirrorRef: (ref: ObjectRef) => string | null,
): string | undefined {
  switch (f.type) {
    case 'RequestHeaderModifier':
    case 'ResponseHeaderModifier': {
      const ops = headerOps(
        f.type === 'RequestHeaderModifier' ? f.requestHeaderModifier : f.responseHeaderModifier,
        false,
      );
      if (typeof ops === 'string') return `${f.type}: ${ops}`;
      if (f.type === 'RequestHeaderModifier') out.requestHeaders = ops;
      else out.responseHeaders = ops;
      return undefined;
    }
    case 'RequestRedirect': {
      const r = f.requestRedirect ?? {};
      const code = r.statusCode ?? 302;
      if (![301, 302, 303, 307, 308].includes(code)) return `redirect status code ${code} is not supported`;
      const redirect: Redirect = { code: code as Redirect['code'] };
      if (r.scheme !== undefined) {
        if (r.scheme !== 'http' && r.scheme !== 'https')
          return `redirect scheme "${r.scheme}" is not supported`;
        redirect.scheme = r.scheme;
      }
      if (r.hostname !== undefined) {
        const hp = hostProblem(r.hostname.toLowerCase());
        if (hp) return `redirect hostname "${r.hostname}" ${hp}`;
        redirect.hostname = r.hostname.toLowerCase();
      }
      if (r.port !== undefined) redirect.port = r.port;
      const p = pathReplace(r.path, path);
      if (typeof p === 'string') return `redirect: ${p}`;
      if (p) redirect.path = p;
      out.redirect = redirect;
      return undefined;
    }
    case 'URLRewrite': {
      const w = f.urlRewrite ?? {};
      const rewrite: NonNullable<GatewayRule['rewrite']> = {};
      if (w.hostname !== undefined) rewrite.hostname = w.hostname.toLowerCase();
      const p = pathReplace(w.path, path);
      if (typeof p === 'string') return `URLRewrite: ${p}`;
      if (p) rewrite.path = p;
      out.rewrite = rewrite;
      return undefined;
    }
    case 'RequestMirror': {
      const ref = f.requestMirror?.backendRef;
      if (!ref) return 'RequestMirror has no backendRef';
      const id = mirrorRef(ref);
      if (id !== null) out.mirrors = [...(out.mirrors ?? []), id];
      return 'RequestMirror is not supported by this data plane yet';
    }
    default:
      return `filter type "${f.type ?? ''}" is not supported`;
  }
}

/** rankKey is the key of a rule's route in compareRules' rank: "namespace/name", "GRPCRoute namespace/name". */
export function rankKey(rule: Pick<GatewayRule, 'route' | 'grpc'>): string {
  return rule.grpc ? `GRPCRoute ${rule.route}` : rule.route;
}

/**
 * compareRules is the spec's precedence for rules of one hostname: Exact path, then the longest Prefix (then
 * regular expressions, longest first), a method match, more header matches, more query matches, the older
 * route, the route first by "namespace/name", then the rule and match first in the route (then the path, so the
 * order is total). GRPCRoute rules (never on one hostname with HTTPRoute rules) go by the longer service, then
 * the longer method, then more header matches, then as above from the older route on.
 */
export function compareRules(rank: ReadonlyMap<string, number>): (a: GatewayRule, b: GatewayRule) => number {
  const kindRank = { Exact: 0, Prefix: 1, Regex: 2 } as const;
  const grpc = (a: GatewayRule, b: GatewayRule): number =>
    a.grpc && b.grpc
      ? b.grpc.service - a.grpc.service ||
        b.grpc.method - a.grpc.method ||
        b.headers.length - a.headers.length
      : 0;
  return (a, b) =>
    grpc(a, b) ||
    kindRank[a.path.kind] - kindRank[b.path.kind] ||
    (a.path.kind === 'Exact' ? 0 : b.path.value.length - a.path.value.length) ||
    (a.method ? 0 : 1) - (b.method ? 0 : 1) ||
    b.headers.length - a.headers.length ||
    b.query.length - a.query.length ||
    (rank.get(rankKey(a)) ?? 0) - (rank.get(rankKey(b)) ?? 0) ||
    a.rule - b.rule ||
    a.match - b.match ||
    (a.path.value < b.path.value ? -1 : a.path.value > b.path.value ? 1 : 0) ||
    ((a.method ?? '') < (b.method ?? '') ? -1 : (a.method ?? '') > (b.method ?? '') ? 1 : 0);
}

function namespaceAllowed(
  l: ListenerState,
  gwNamespace: string,
  routeNamespace: string,
  namespaces: ReadonlyMap<string, NamespaceObject>,
): boolean {
  const from = l.obj.allowedRoutes?.namespaces?.from ?? 'Same';
  if (from === 'All') return true;
  if (from === 'Same') return gwNamespace === routeNamespace;
  if (from === 'Selector') {
    const sel = l.obj.allowedRoutes?.namespaces?.selector;
    if (!sel) return false;
    return selectorMatches(sel, namespaces.get(routeNamespace)?.metadata?.labels ?? {});
  }
  return false;
}

/** AttachContext is what attaching a route reads: our Gateways, the Namespaces, our controller name. */
export interface AttachContext {
  gateways: ReadonlyMap<string, GatewayState>;
  namespaces: ReadonlyMap<string, NamespaceObject>;
  controller: string;
}

/** AttachableRoute is the part of any route kind that attaching reads. */
export interface AttachableRoute {
  metadata?: { namespace?: string; name?: string; generation?: number };
  spec?: { parentRefs?: ObjectRef[]; hostnames?: string[] };
}

/**
 * attachRoute gives a route of `kind` its `status.parents` entry for every parentRef naming one of our Gateways,
 * with the spec's reasons (NoMatchingParent, NotAllowedByListeners, NoMatchingListenerHostname, UnsupportedValue;
 * ResolvedRefs from `parse`), counts it on every listener it attaches to and calls `attach` for each programmable
 * one with the hostnames it serves there (the intersection with the listener's). `parse` is called only when a
 * parentRef names one of our Gateways. `refuse`, when given, tells why the route may not have a listener (it
 * is then left out; with none left the route is not accepted: NotAllowedByListeners with that reason).
 * O(parentRefs × listeners × hostnames).
 */
export function attachRoute(
  route: AttachableRoute,
  kind: string,
  ctx: AttachContext,
  parse: () => { refs?: { reason: string; message: string }; unsupported?: string },
  attach: (l: ListenerState, hosts: string[]) => void,
  refuse?: (l: ListenerState, hosts: string[]) => string | undefined,
): RouteParentStatusObject[] {
  const namespace = route.metadata?.namespace ?? 'default';
  const generation = route.metadata?.generation;
  const parents: RouteParentStatusObject[] = [];
  const attachedTo = new Set<ListenerState>();
  for (const ref of route.spec?.parentRefs ?? []) {
    if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway') continue;
    const gw = ctx.gateways.get(`${ref.namespace ?? namespace}/${ref.name ?? ''}`);
    if (!gw) continue;
    const parsed = parse();
    const refsCond = parsed.refs
      ? cond('ResolvedRefs', false, parsed.refs.reason, parsed.refs.message, generation)
      : cond('ResolvedRefs', true, 'ResolvedRefs', 'All references are resolved', generation);
    const parentRef: ObjectRef = {
      group: GATEWAY_GROUP,
      kind: 'Gateway',
      ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
      name: ref.name ?? '',
      ...(ref.sectionName !== undefined ? { sectionName: ref.sectionName } : {}),
      ...(ref.port !== undefined ? { port: ref.port } : {}),
    };
    const status = (ok: boolean, reason: string, message: string): void => {
      parents.push({
        parentRef,
        controllerName: ctx.controller,
        conditions: [cond('Accepted', ok, reason, message, generation), refsCond],
      });
    };
    const candidates = gw.listeners.filter(
      (l) =>
        (ref.sectionName === undefined || l.name === ref.sectionName) &&
        (ref.port === undefined || l.port === ref.port),
    );
    if (candidates.length === 0) {
      status(false, 'NoMatchingParent', `Gateway "${gw.key}" has no listener matching sectionName/port`);
      continue;
    }
    const allowed = candidates.filter(
      (l) =>
        l.supportedKinds.some((k) => k.kind === kind) &&
        namespaceAllowed(l, gw.namespace, namespace, ctx.namespaces),
    );
    if (allowed.length === 0) {
      status(
        false,
        'NotAllowedByListeners',
        `No listener of Gateway "${gw.key}" allows ${kind}s from namespace "${namespace}"`,
      );
      continue;
    }
    const routeHosts = (route.spec?.hostnames ?? []).map((h) => h.toLowerCase());
    const hostsOn = (l: ListenerState): string[] =>
      routeHosts.length === 0
        ? [l.hostname]
        : [...new Set(routeHosts.flatMap((h) => intersectHostname(l.hostname, h) ?? []))];
    const hostMatching = allowed.filter((l) => hostsOn(l).length > 0);
    if (hostMatching.length === 0) {
      status(
        false,
        'NoMatchingListenerHostname',
        `No listener of Gateway "${gw.key}" has a hostname that matches the route's hostnames`,
      );
      continue;
    }
    if (parsed.unsupported !== undefined) {
      status(false, 'UnsupportedValue', parsed.unsupported);
      continue;
    }
    const refused = hostMatching.map((l) => refuse?.(l, hostsOn(l)));
    const matching = hostMatching.filter((_, i) => refused[i] === undefined);
    if (matching.length === 0) {
      status(false, 'NotAllowedByListeners', refused[0] ?? '');
      continue;
    }
    status(true, 'Accepted', `Accepted by Gateway "${gw.key}"`);
    for (const l of matching) {
      if (!attachedTo.has(l)) {
        attachedTo.add(l);
        l.attached++;
      }
      if (l.programmable) attach(l, hostsOn(l));
    }
  }
  return parents;
}

/**
 * buildGateways computes routing and status for every Gateway of a GatewayClass whose controllerName is ours,
 * and every HTTPRoute attached to one. O(routes × listeners + rules log rules).
 */
export function buildGateways(input: GatewayInput, options: GatewayBuildOptions): GatewayBuild {
  const controller = options.controllerName ?? GATEWAY_CONTROLLER;
  const classStatus: GatewayBuild['classStatus'] = new Map();
  const ourClasses = new Set<string>();
  for (const c of input.gatewayClasses) {
    if (c.spec?.controllerName !== controller || !c.metadata?.name) continue;
    ourClasses.add(c.metadata.name);
    const g = c.metadata.generation;
    classStatus.set(c.metadata.name, {
      conditions: [
        cond('Accepted', true, 'Accepted', 'Handled by the IronLB gateway controller', g),
        cond('SupportedVersion', true, 'SupportedVersion', 'Gateway API v1.6 CRDs', g),
      ],
      supportedFeatures: SUPPORTED_FEATURES.map((name) => ({ name })),
    });
  }
  const namespaces = new Map(input.namespaces.map((n) => [n.metadata?.name ?? '', n]));

  // Gateways and their listeners.
  const gateways = new Map<string, GatewayState>();
  for (const gw of [...input.gateways].sort(compareAge)) {
    if (!ourClasses.has(gw.spec?.gatewayClassName ?? '')) continue;
    const st: GatewayState = {
      obj: gw,
      key: objectKey(gw),
      namespace: gw.metadata?.namespace ?? 'default',
      generation: gw.metadata?.generation,
      listeners: validateListeners(gw, input),
    };
    for (const a of gw.spec?.addresses ?? []) {
      const type = a.type ?? 'IPAddress';
      if (type !== 'IPAddress') st.addressProblem = `Address type "${type}" is not supported (IPAddress is)`;
      else if (!isIP(a.value ?? '')) st.addressProblem = `Address "${a.value ?? ''}" is not an IP address`;
    }
    gateways.set(st.key, st);
  }

  // Proxy ports: one per (Gateway, listener port) of programmable listeners, from the range of its kind: HTTP,
  // HTTPS, or TLS when a TLS passthrough listener is on it (its HTTPS listeners are reached by SNI through it).
  const rangeOf = new Map<string, 'httpPorts' | 'httpsPorts' | 'tlsPorts'>();
  for (const g of gateways.values())
    for (const l of g.listeners) {
      if (!l.programmable) continue;
      const k = `${g.key}/${l.port}`;
      const range = l.protocol === 'HTTP' ? 'httpPorts' : l.protocol === 'TLS' ? 'tlsPorts' : 'httpsPorts';
      if (rangeOf.get(k) !== 'tlsPorts') rangeOf.set(k, range);
    }
  const keysIn = (r: string): string[] => [...rangeOf].filter(([, v]) => v === r).map(([k]) => k);
  const ports = new Map([
    ...assignInternalPorts(keysIn('httpPorts'), input.assignedPorts, options.httpPorts),
    ...assignInternalPorts(keysIn('httpsPorts'), input.assignedPorts, options.httpsPorts),
    ...(options.tlsPorts
      ? assignInternalPorts(keysIn('tlsPorts'), input.assignedPorts, options.tlsPorts)
      : new Map<string, number>()),
  ]);
  for (const g of gateways.values())
    for (const l of g.listeners) {
      if (!l.programmable) continue;
      const p = ports.get(`${g.key}/${l.port}`);
      if (p === undefined) {
        const range = options[rangeOf.get(`${g.key}/${l.port}`) ?? 'httpPorts'];
        l.programmable = false;
        l.accepted = {
          ok: false,
          reason: 'PortUnavailable',
          message: range
            ? `No proxy port is left for ${l.protocol} listeners on port ${l.port} (range ${range.first}-${range.last})`
            : `No proxy port range is configured for TLS passthrough listeners (--gateway-passthrough-ports)`,
        };
      } else l.internalPort = p;
    }

  // Routes, oldest first: status per parentRef, rules per (listener, hostname).
  const routeStatus: GatewayBuild['routeStatus'] = new Map();
  const rank = new Map<string, number>();
  const vhosts = new Map<ListenerState, Map<string, GatewayRule[]>>();
  const backends = new Map<string, GatewayBackendRef>();
  const grpcRouteStatus: GatewayBuild['grpcRouteStatus'] = new Map();
  // HTTPRoutes and GRPCRoutes, oldest first: on one listener they never share a hostname (the older one wins)
  const routes: RouteEntry[] = [
    ...input.httpRoutes.map((obj) => ({ kind: 'HTTPRoute' as const, obj })),
    ...(input.grpcRoutes ?? []).map((obj) => ({ kind: 'GRPCRoute' as const, obj })),
  ].sort((a, b) => compareAge(a.obj, b.obj));
  const claimed = new Map<ListenerState, { kind: string; host: string; route: string }[]>();
  const ctx: AttachContext = { gateways, namespaces, controller };
  routes.forEach((entry, i) => {
    const { kind, obj: route } = entry;
    const key = objectKey(route);
    rank.set(kind === 'GRPCRoute' ? `GRPCRoute ${key}` : key, i);
    let parsed: ParsedRoute | undefined;
    const parse = (): ParsedRoute =>
      (parsed ??=
        entry.kind === 'GRPCRoute' ? parseGrpcRoute(entry.obj, input) : parseRoute(entry.obj, input));
    const clash = (l: ListenerState, hosts: string[]): string | undefined => {
      const c = (claimed.get(l) ?? []).find(
        (x) => x.kind !== kind && hosts.some((h) => intersectHostname(x.host, h) !== undefined),
      );
      return c
        ? `Hostname "${c.host}" of listener "${l.name}" is served by ${c.kind} "${c.route}", which is older: HTTPRoutes and GRPCRoutes may not share a hostname`
        : undefined;
    };
    const parents = attachRoute(
      route,
      kind,
      ctx,
      parse,
      (l, hosts) => {
        const list = claimed.get(l) ?? [];
        for (const host of hosts) list.push({ kind, host, route: key });
        claimed.set(l, list);
        const p = parse();
        let byHost = vhosts.get(l);
        if (!byHost) vhosts.set(l, (byHost = new Map()));
        for (const h of hosts) {
          const list = byHost.get(h) ?? [];
          for (const r of p.rules)
            if (!list.some((x) => x.route === key && x.rule === r.rule && x.match === r.match))
              list.push({ ...r, route: key });
          byHost.set(h, list);
        }
        for (const b of p.backends) backends.set(b.id, b);
      },
      clash,
    );
    if (parents.length > 0) (kind === 'GRPCRoute' ? grpcRouteStatus : routeStatus).set(key, parents);
  });
  const tls = attachTlsRoutes(input.tlsRoutes ?? [], ctx, input);

  // Routing model, certificates, Services, Gateway status.
  const order = compareRules(rank);
  const listeners: GatewayListener[] = [];
  const passthrough: PassthroughListener[] = [];
  const certificates: GatewayBuild['certificates'] = new Map();
  const anyHost = new Set<string>();
  const gatewayStatus: GatewayBuild['gatewayStatus'] = new Map();
  const services: GatewayServiceSpec[] = [];
  for (const g of gateways.values()) {
    const gen = g.generation;
    const svcPorts = new Map<number, GatewayServicePort>();
    for (const l of g.listeners) {
      if (!l.programmable || l.internalPort === undefined) continue;
      const portName = rangeOf.get(`${g.key}/${l.port}`) === 'tlsPorts' ? 'tls' : l.protocol.toLowerCase();
      svcPorts.set(l.port, { name: `${portName}-${l.port}`, port: l.port, targetPort: l.internalPort });
      if (l.protocol === 'TLS') {
        passthrough.push({
          gateway: g.key,
          name: l.name,
          internalPort: l.internalPort,
          port: l.port,
          hostname: l.hostname,
          hosts: [...(tls.hosts.get(l)?.values() ?? [])].sort((a, b) =>
            compareHostSpecificity(a.host, b.host),
          ),
        });
        continue;
      }
      const byHost = vhosts.get(l) ?? new Map<string, GatewayRule[]>();
      listeners.push({
        gateway: g.key,
        name: l.name,
        internalPort: l.internalPort,
        port: l.port,
        protocol: l.protocol as 'HTTP' | 'HTTPS',
        hostname: l.hostname,
        vhosts: [...byHost.keys()].sort(compareHostSpecificity).map((host) => ({
          host,
          rules: [...(byHost.get(host) ?? [])].sort(order),
        })),
      });
      for (const c of l.certs) {
        const k = `${c.namespace}/${c.name}`;
        const entry = certificates.get(k) ?? { namespace: c.namespace, name: c.name, hosts: [] };
        // a listener without a hostname serves any SNI name: no filter, the certificate's own names
        if (l.hostname === '*') anyHost.add(k);
        else if (!entry.hosts.includes(l.hostname)) entry.hosts.push(l.hostname);
        certificates.set(k, entry);
      }
    }
    const addresses: GatewayStatus['addresses'] = (input.addresses.get(g.key) ?? []).flatMap(
      (a): GatewayStatus['addresses'] =>
        a.ip
          ? [{ type: 'IPAddress' as const, value: a.ip }]
          : a.hostname
            ? [{ type: 'Hostname' as const, value: a.hostname }]
            : [],
    );
    const valid = g.listeners.filter((l) => l.programmable).length;
    const accepted =
      g.addressProblem !== undefined
        ? cond('Accepted', false, 'UnsupportedAddress', g.addressProblem, gen)
        : valid === g.listeners.length
          ? cond('Accepted', true, 'Accepted', 'Gateway is accepted', gen)
          : cond(
              'Accepted',
              valid > 0,
              'ListenersNotValid',
              `${g.listeners.length - valid} of ${g.listeners.length} listeners are not valid`,
              gen,
            );
    const requested = (g.obj.spec?.addresses ?? []).map((a) => a.value ?? '');
    const notUsable = input.addressPools ? addressesInNoPool(requested, input.addressPools) : [];
    const programmed =
      accepted.status !== 'True'
        ? cond('Programmed', false, 'Invalid', 'Gateway is not accepted', gen)
        : notUsable.length > 0
          ? cond(
              'Programmed',
              false,
              'AddressNotUsable',
              `Requested address ${notUsable.join(', ')} is in no IPAddressPool, so IronLB cannot assign it`,
              gen,
            )
          : addresses.length === 0
            ? cond(
                'Programmed',
                false,
                'AddressNotAssigned',
                requested.length > 0
                  ? `Service "${g.namespace}/${gatewayServiceName(g.obj.metadata?.name ?? '')}" has not received the requested address ${requested.join(', ')}: is it inside an IPAddressPool that allows it? (ironlb why ${g.namespace}/${gatewayServiceName(g.obj.metadata?.name ?? '')})`
                  : `Service "${g.namespace}/${gatewayServiceName(g.obj.metadata?.name ?? '')}" has no load-balancer address yet`,
                gen,
              )
            : cond('Programmed', true, 'Programmed', 'Gateway is programmed in the proxy', gen);
    gatewayStatus.set(g.key, {
      addresses,
      conditions: [accepted, programmed],
      listeners: g.listeners.map((l) => ({
        name: l.name,
        supportedKinds: l.supportedKinds,
        attachedRoutes: l.attached,
        conditions: [
          cond('Accepted', l.accepted.ok, l.accepted.reason, l.accepted.message, gen),
          l.conflicted
            ? cond('Conflicted', true, l.conflicted.reason, l.conflicted.message, gen)
            : cond('Conflicted', false, 'NoConflicts', 'No conflicts', gen),
          cond('ResolvedRefs', l.refs.ok, l.refs.reason, l.refs.message, gen),
          l.programmable
            ? cond('Programmed', true, 'Programmed', `Served on proxy port ${l.internalPort ?? 0}`, gen)
            : cond('Programmed', false, 'Invalid', 'Listener is not valid', gen),
        ],
      })),
    });
    services.push({
      gateway: g.key,
      namespace: g.namespace,
      gatewayName: g.obj.metadata?.name ?? '',
      name: gatewayServiceName(g.obj.metadata?.name ?? ''),
      ports: [...svcPorts.values()].sort((a, b) => a.port - b.port),
      requestedIPs: (g.obj.spec?.addresses ?? [])
        .filter((a) => (a.type ?? 'IPAddress') === 'IPAddress' && isIP(a.value ?? ''))
        .map((a) => a.value ?? ''),
    });
  }
  const byPortHost = (a: { internalPort: number; hostname: string }, b: typeof a): number =>
    a.internalPort - b.internalPort || compareHostSpecificity(a.hostname, b.hostname);
  listeners.sort(byPortHost);
  passthrough.sort(byPortHost);
  for (const k of anyHost) certificates.get(k)?.hosts.splice(0);
  for (const b of tls.backends) backends.set(b.id, b);

  return {
    routing: { listeners, ...(passthrough.length > 0 ? { passthrough } : {}) },
    backends: [...backends.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    certificates,
    classStatus,
    gatewayStatus,
    routeStatus,
    tlsRouteStatus: tls.status,
    grpcRouteStatus,
    services,
  };
}
