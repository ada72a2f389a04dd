// buildRouteTable: the one parse step from IngressClasses + Ingresses (+ a resolver for Services,
// EndpointSlices and Secrets) to the RouteTable model. Deterministic: the same input gives the same table,
// whatever the order of the input arrays. A bad Ingress produces an error Issue and never touches the others.
import { parseCidrList } from './cidr.ts';
import {
  anchoredRegexSource,
  hostMatches,
  hostProblem,
  literalPathProblem,
  normalizePrefix,
  regexPathProblem,
} from './paths.ts';
import type {
  Backend,
  BackendResolver,
  Certificate,
  IngressBackendObject,
  IngressClassObject,
  IngressObject,
  Issue,
  Route,
  RouteTable,
  VirtualHost,
} from './types.ts';

/** INGRESS_CONTROLLER is our `spec.controller` value in IngressClass objects. */
export const INGRESS_CONTROLLER = 'ironlb.io/ingress';

/** DEFAULT_CLASS_ANNOTATION marks an IngressClass as the cluster default. */
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

/** LEGACY_CLASS_ANNOTATION is the pre-IngressClass way to name a class; read when `ingressClassName` is unset. */
export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

/** ANNOTATION_PREFIX is the prefix of the ingress-nginx annotations we honour. */
export const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';

/** RouteTableInput is everything the builder reads: plain API objects and a resolver. */
export interface RouteTableInput {
  ingressClasses: readonly IngressClassObject[];
  ingresses: readonly IngressObject[];
  resolver: BackendResolver;
}

/** BuildOptions tune the builder; `controller` defaults to INGRESS_CONTROLLER. */
export interface BuildOptions {
  controller?: string;
  /** watchWithoutClass serves Ingresses that name no class even when no class of ours is the default. */
  watchWithoutClass?: boolean;
  /**
   * lastGood holds, by "namespace/name", the last version of each Ingress that built without error (the
   * edge keeps `table.accepted`). A broken edit of such an Ingress keeps serving that version.
   */
  lastGood?: ReadonlyMap<string, IngressObject>;
}

/** ingressKey returns "namespace/name" of an object. */
export function ingressKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? 'default'}/${obj.metadata?.name ?? ''}`;
}

function timestampMs(t: string | Date | undefined): number {
  if (t === undefined) return Number.POSITIVE_INFINITY;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** compareAge orders objects like ingress-nginx resolves conflicts: oldest creationTimestamp, then namespace/name. */
export function compareAge(a: IngressObject, b: IngressObject): number {
  const d = timestampMs(a.metadata?.creationTimestamp) - timestampMs(b.metadata?.creationTimestamp);
  if (d !== 0 && !Number.isNaN(d)) return d < 0 ? -1 : 1;
  const ka = ingressKey(a);
  const kb = ingressKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** ClassSelection says which class names are ours and whether class-less Ingresses are ours. */
export interface ClassSelection {
  names: Set<string>;
  classless: boolean;
}

/** selectClasses picks the IngressClasses whose `spec.controller` is ours; one of them being default adopts class-less Ingresses. */
export function selectClasses(
  classes: readonly IngressClassObject[],
  options: { controller?: string; watchWithoutClass?: boolean } = {},
): ClassSelection {
  const controller = options.controller ?? INGRESS_CONTROLLER;
  const names = new Set<string>();
  let classless = options.watchWithoutClass ?? false;
  for (const c of classes) {
    if (c.spec?.controller !== controller || !c.metadata?.name) continue;
    names.add(c.metadata.name);
    if (c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true') classless = true;
  }
  return { names, classless };
}

/** isOurs tells whether an Ingress belongs to the selected classes. */
export function isOurs(ingress: IngressObject, selection: ClassSelection): boolean {
  const cls = ingress.spec?.ingressClassName ?? ingress.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (cls === undefined || cls === '') return selection.classless;
  return selection.names.has(cls);
}

interface ParsedRoute extends Omit<Route, 'redirectToHttps' | 'backend'> {
  host: string;
  backend: BackendRef;
}

interface BackendRef {
  id: string;
  namespace: string;
  service: string;
  port: { name?: string; number?: number };
}

interface ParsedTls {
  secret: string;
  secretName: string;
  hosts: string[];
}

interface ParsedIngress {
  key: string;
  namespace: string;
  routes: ParsedRoute[];
  defaultBackend?: BackendRef;
  tls: ParsedTls[];
  sslRedirect: boolean;
  forceSslRedirect: boolean;
  warnings: string[];
}

function parseBackend(
  key: string,
  namespace: string,
  b: IngressBackendObject | undefined,
  where: string,
): BackendRef | string {
  if (!b) return `${where} has no backend`;
  if (b.resource !== undefined && b.resource !== null)
    return `${where} uses a resource backend, which is not supported`;
  const svc = b.service;
  if (!svc?.name) return `${where} has no service name`;
  const port = svc.port ?? {};
  if (
    port.number !== undefined &&
    (!Number.isInteger(port.number) || port.number < 1 || port.number > 65535)
  ) {
    return `${where} has an invalid service port ${port.number}`;
  }
  const portText = port.number !== undefined ? String(port.number) : port.name;
  if (portText === undefined || portText === '') return `${where} has no service port`;
  return {
    id: `${namespace}/${svc.name}:${portText}`,
    namespace,
    service: svc.name,
    port: port.number !== undefined ? { number: port.number } : { name: port.name ?? '' },
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function parseIngress(ing: IngressObject): { parsed?: ParsedIngress; errors: string[] } {
  const key = ingressKey(ing);
  const namespace = ing.metadata?.namespace ?? 'default';
  const ann = ing.metadata?.annotations ?? {};
  const a = (name: string): string | undefined => ann[ANNOTATION_PREFIX + name];
  const errors: string[] = [];
  const warnings: string[] = [];

  const rewriteTarget = a('rewrite-target');
  const useRegex = a('use-regex') === 'true';
  const regexMode = useRegex || (rewriteTarget !== undefined && /\$[1-9]/.test(rewriteTarget));
  if (rewriteTarget !== undefined && (!rewriteTarget.startsWith('/') || /[\s#]/.test(rewriteTarget))) {
    errors.push(
      `annotation rewrite-target "${rewriteTarget}" must start with "/" and contain no spaces or "#"`,
    );
  }

  let allow: string[] | undefined;
  const allowText = a('allowlist-source-range') ?? a('whitelist-source-range');
  if (allowText !== undefined && allowText.trim() !== '') {
    const parsed = parseCidrList(allowText);
    if ('bad' in parsed)
      errors.push(`annotation allowlist-source-range: "${parsed.bad}" is not a CIDR or IP address`);
    else allow = parsed.cidrs;
  }

  const routes: ParsedRoute[] = [];
  const ruleHosts: string[] = [];
  (ing.spec?.rules ?? []).forEach((rule, ri) => {
    const host = rule.host === undefined || rule.host === '' ? '*' : rule.host.toLowerCase();
    if (host !== '*') {
      const hp = hostProblem(host);
      if (hp) {
        errors.push(`host "${rule.host}" ${hp}`);
        return;
      }
      ruleHosts.push(host);
    }
    (rule.http?.paths ?? []).forEach((p, pi) => {
      const where = `rule ${ri} path ${pi}`;
      const rawPath = p.path === undefined || p.path === '' ? '/' : p.path;
      const backend = parseBackend(key, namespace, p.backend, `path "${rawPath}"`);
      if (typeof backend === 'string') {
        errors.push(backend);
        return;
      }
      let kind: Route['kind'];
      let path: string;
      if (p.pathType === 'Exact' || p.pathType === 'Prefix') {
        const problem = literalPathProblem(rawPath);
        if (problem) {
          errors.push(`path "${rawPath}" ${problem}`);
          return;
        }
        kind = p.pathType;
        path = kind === 'Prefix' ? normalizePrefix(rawPath) : rawPath;
      } else if (p.pathType === 'ImplementationSpecific' || p.pathType === undefined) {
        if (regexMode) {
          const pattern = rawPath.startsWith('^') ? rawPath.slice(1) : rawPath;
          const problem = regexPathProblem(pattern);
          if (problem) {
            errors.push(`path "${rawPath}" ${problem}`);
            return;
          }
          kind = 'Regex';
          path = pattern;
        } else {
          const problem = literalPathProblem(rawPath);
          if (problem) {
            errors.push(`path "${rawPath}" ${problem}`);
            return;
          }
          kind = 'Prefix';
          path = normalizePrefix(rawPath);
        }
      } else {
        errors.push(`${where} has unknown pathType "${p.pathType}"`);
        return;
      }
      const route: ParsedRoute = { host, kind, path, backend, ingress: key };
      if (allow) route.allow = allow;
      if (rewriteTarget !== undefined) {
        const regex =
          kind === 'Regex'
            ? anchoredRegexSource(path)
            : kind === 'Exact'
              ? `^${escapeRegex(path)}$`
              : `^${escapeRegex(path === '/' ? '' : path)}`;
        route.rewrite = { target: rewriteTarget, regex };
      }
      routes.push(route);
    });
  });

  let defaultBackend: BackendRef | undefined;
  if (ing.spec?.defaultBackend) {
    const b = parseBackend(key, namespace, ing.spec.defaultBackend, 'defaultBackend');
    if (typeof b === 'string') errors.push(b);
    else defaultBackend = b;
  }

  const tls: ParsedTls[] = [];
  for (const t of ing.spec?.tls ?? []) {
    if (!t.secretName) {
      warnings.push('a tls entry has no secretName: its hosts use the default certificate');
      continue;
    }
    const hosts = (t.hosts && t.hosts.length > 0 ? t.hosts.map((h) => h.toLowerCase()) : ruleHosts).filter(
      (h) => {
        const hp = hostProblem(h);
        if (hp) errors.push(`tls host "${h}" ${hp}`);
        return !hp;
      },
    );
    tls.push({
      secret: `${namespace}/${t.secretName}`,
      secretName: t.secretName,
      hosts: [...new Set(hosts)].sort(),
    });
  }

  if (errors.length > 0) return { errors };
  return {
    errors,
    parsed: {
      key,
      namespace,
      routes,
      ...(defaultBackend ? { defaultBackend } : {}),
      tls,
      sslRedirect: a('ssl-redirect') !== 'false',
      forceSslRedirect: a('force-ssl-redirect') === 'true',
      warnings,
    },
  };
}

function routeOrder(rank: ReadonlyMap<string, number>): (a: Route, b: Route) => number {
  return (a, b) => {
    const ea = a.kind === 'Exact' ? 0 : 1;
    const eb = b.kind === 'Exact' ? 0 : 1;
    if (ea !== eb) return ea - eb;
    if (ea === 1 && a.path.length !== b.path.length) return b.path.length - a.path.length;
    if (a.kind !== b.kind) return a.kind === 'Prefix' ? -1 : 1;
    const ra = rank.get(a.ingress) ?? 0;
    const rb = rank.get(b.ingress) ?? 0;
    if (ra !== rb) return ra - rb;
    return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  };
}

function hostOrder(a: string, b: string): number {
  const ka = a === '*' ? 2 : a.startsWith('*.') ? 1 : 0;
  const kb = b === '*' ? 2 : b.startsWith('*.') ? 1 : 0;
  if (ka !== kb) return ka - kb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * buildRouteTable turns the Ingresses of our classes into a RouteTable. Conflicts (same host, path kind and
 * path; same TLS host; several default backends) go to the oldest Ingress (creationTimestamp, then
 * namespace/name) and are reported on the loser. An Ingress with an error keeps its last good version when
 * `options.lastGood` has one, else contributes nothing. O(n log n) in the number of rules.
 */
export function buildRouteTable(input: RouteTableInput, options: BuildOptions = {}): RouteTable {
  const selection = selectClasses(input.ingressClasses, options);
  const ours = input.ingresses.filter((i) => isOurs(i, selection)).sort(compareAge);
  const issues: Issue[] = [];
  const accepted: string[] = [];
  const rank = new Map<string, number>();
  const parsedList: ParsedIngress[] = [];

  ours.forEach((ing, i) => {
    const key = ingressKey(ing);
    rank.set(key, i);
    const { parsed, errors } = parseIngress(ing);
    if (parsed) {
      accepted.push(key);
      parsedList.push(parsed);
      for (const w of parsed.warnings) {
        issues.push({
          ingress: key,
          kind: 'warning',
          reason: 'IngressWarning',
          message: `Ingress "${key}": ${w}`,
        });
      }
      return;
    }
    const last = options.lastGood?.get(key);
    const fallback = last ? parseIngress(last).parsed : undefined;
    const suffix = fallback ? ' (serving its last good version)' : ' (not served)';
    for (const e of errors) {
      issues.push({
        ingress: key,
        kind: 'error',
        reason: 'InvalidIngress',
        message: `Ingress "${key}": ${e}${suffix}`,
      });
    }
    if (fallback) parsedList.push(fallback);
  });

  // Certificates first: a host's redirect depends on them. Oldest Ingress wins a TLS host.
  const tlsByHost = new Map<string, { secret: string; ingress: string }>();
  const certHosts = new Map<string, Set<string>>();
  const certPem = new Map<string, string>();
  const badSecrets = new Set<string>();
  for (const p of parsedList) {
    for (const t of p.tls) {
      if (!certPem.has(t.secret) && !badSecrets.has(t.secret)) {
        const r = input.resolver.tls(p.namespace, t.secretName);
        if (r.pem !== undefined) certPem.set(t.secret, r.pem);
        else badSecrets.add(t.secret);
        if (r.problem !== undefined) {
          issues.push({
            ingress: p.key,
            kind: 'warning',
            reason: 'TLSSecretInvalid',
            message: `Ingress "${p.key}": TLS secret "${t.secret}" ${r.problem}: its hosts use the default certificate`,
          });
        }
      }
      if (badSecrets.has(t.secret)) continue;
      for (const h of t.hosts) {
        const prev = tlsByHost.get(h);
        if (prev && prev.secret !== t.secret) {
          issues.push({
            ingress: p.key,
            kind: 'conflict',
            reason: 'TLSConflict',
            message: `Ingress "${p.key}": TLS host "${h}" already uses secret "${prev.secret}" from Ingress "${prev.ingress}"`,
          });
          continue;
        }
        if (!prev) tlsByHost.set(h, { secret: t.secret, ingress: p.key });
        let set = certHosts.get(t.secret);
        if (!set) certHosts.set(t.secret, (set = new Set()));
        set.add(h);
      }
    }
  }
  const tlsHosts = [...tlsByHost.keys()];
  const hasCert = (host: string): boolean =>
    host !== '*' && tlsHosts.some((t) => t === host || (!host.startsWith('*.') && hostMatches(t, host)));

  // Routes: first (oldest) owner of (host, kind, path) wins.
  const backendRefs = new Map<string, BackendRef>();
  const backendUsers = new Map<string, Set<string>>();
  const useBackend = (ref: BackendRef, ingress: string): void => {
    backendRefs.set(ref.id, ref);
    let users = backendUsers.get(ref.id);
    if (!users) backendUsers.set(ref.id, (users = new Set()));
    users.add(ingress);
  };
  const byHost = new Map<string, Route[]>();
  const owners = new Map<string, string>();
  for (const p of parsedList) {
    for (const r of p.routes) {
      const k = `${r.host}\u0000${r.kind}\u0000${r.path}`;
      const owner = owners.get(k);
      if (owner !== undefined) {
        issues.push({
          ingress: p.key,
          kind: 'conflict',
          reason: 'RouteConflict',
          message:
            owner === p.key
              ? `Ingress "${p.key}": ${r.kind} path "${r.path}" on host "${r.host}" is listed twice; the first is used`
              : `Ingress "${p.key}": ${r.kind} path "${r.path}" on host "${r.host}" is already served by Ingress "${owner}"`,
        });
        continue;
      }
      owners.set(k, p.key);
      useBackend(r.backend, p.key);
      const route: Route = {
        kind: r.kind,
        path: r.path,
        backend: r.backend.id,
        ingress: r.ingress,
        redirectToHttps: p.forceSslRedirect || (p.sslRedirect && hasCert(r.host)),
      };
      if (r.allow) route.allow = r.allow;
      if (r.rewrite) route.rewrite = r.rewrite;
      let list = byHost.get(r.host);
      if (!list) byHost.set(r.host, (list = []));
      list.push(route);
    }
  }

  let defaultBackend: string | undefined;
  let defaultOwner: string | undefined;
  for (const p of parsedList) {
    if (!p.defaultBackend) continue;
    if (defaultOwner !== undefined) {
      issues.push({
        ingress: p.key,
        kind: 'conflict',
        reason: 'DefaultBackendConflict',
        message: `Ingress "${p.key}": defaultBackend is ignored, Ingress "${defaultOwner}" already sets one`,
      });
      continue;
    }
    defaultOwner = p.key;
    defaultBackend = p.defaultBackend.id;
    useBackend(p.defaultBackend, p.key);
  }

  const order = routeOrder(rank);
  const hosts: VirtualHost[] = [...byHost.keys()]
    .sort(hostOrder)
    .map((host) => ({ host, routes: (byHost.get(host) ?? []).sort(order) }));

  const backends: Backend[] = [...backendRefs.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((ref) => {
      const r = input.resolver.endpoints(ref.namespace, ref.service, ref.port);
      if (r.problem !== undefined) {
        for (const user of [...(backendUsers.get(ref.id) ?? [])].sort()) {
          issues.push({
            ingress: user,
            kind: 'warning',
            reason: 'BackendUnavailable',
            message: `Ingress "${user}": backend "${ref.id}" has no endpoints: ${r.problem}`,
          });
        }
      }
      const endpoints = [...r.endpoints].sort((x, y) =>
        x.address < y.address ? -1 : x.address > y.address ? 1 : x.port - y.port,
      );
      return { id: ref.id, endpoints };
    });

  const certificates: Certificate[] = [...certHosts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([secret, hs]) => ({ secret, hosts: [...hs].sort(), pem: certPem.get(secret) ?? '' }));

  return {
    hosts,
    ...(defaultBackend !== undefined ? { defaultBackend } : {}),
    backends,
    certificates,
    ingresses: ours.map(ingressKey).sort(),
    accepted: accepted.sort(),
    issues,
  };
}

/** emptyRouteTable is the table with no routes: every request gets 404 (what a data plane starts with). */
export function emptyRouteTable(): RouteTable {
  return { hosts: [], backends: [], certificates: [], ingresses: [], accepted: [], issues: [] };
}
