// Shapes of the ingress core: the plain API objects it reads (only the fields it needs, as the API server
// returns them) and the route-table model it produces. The model is the one thing the data-plane renderers
// and the matcher read; no renderer ever looks at an Ingress object.
import type { GatewayRouting } from '../gateway/types.ts';

/** ObjectMetaView is the part of metadata the ingress core reads. */
export interface ObjectMetaView {
  name?: string;
  namespace?: string;
  uid?: string;
  creationTimestamp?: string | Date;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** IngressClassObject is a networking.k8s.io/v1 IngressClass as read from the API. */
export interface IngressClassObject {
  metadata?: ObjectMetaView;
  spec?: { controller?: string };
}

/** IngressBackendObject is a networking.k8s.io/v1 IngressBackend. Resource backends are not supported. */
export interface IngressBackendObject {
  service?: { name?: string; port?: { name?: string; number?: number } };
  resource?: unknown;
}

/** IngressPathObject is one entry of `spec.rules[].http.paths`. */
export interface IngressPathObject {
  path?: string;
  pathType?: string;
  backend?: IngressBackendObject;
}

/** IngressObject is a networking.k8s.io/v1 Ingress as read from the API. */
export interface IngressObject {
  metadata?: ObjectMetaView;
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackendObject;
    tls?: { hosts?: string[]; secretName?: string }[];
    rules?: { host?: string; http?: { paths?: IngressPathObject[] } }[];
  };
}

/** Endpoint is one ready backend address and port (from an EndpointSlice). */
export interface Endpoint {
  address: string;
  port: number;
}

/** EndpointsResult is what a resolver answers for a Service port: ready endpoints, or why there are none. */
export type EndpointsResult =
  { endpoints: Endpoint[]; problem?: undefined } | { endpoints: []; problem: string };

/** TlsResult is what a resolver answers for a TLS Secret: the PEM (certificate chain then key), or why not. */
export type TlsResult = { pem: string; problem?: undefined } | { pem?: undefined; problem: string };

/**
 * BackendResolver answers the questions the route-table builder cannot answer from Ingress objects alone.
 * Implementations must be pure functions of a snapshot (see `snapshotResolver`).
 */
export interface BackendResolver {
  /** endpoints returns the ready endpoints of a Service port, named by number or by name. */
  endpoints(namespace: string, service: string, port: { name?: string; number?: number }): EndpointsResult;
  /** tls returns the PEM of a `kubernetes.io/tls` Secret (certificate and key present). */
  tls(namespace: string, secretName: string): TlsResult;
}

/** PathKind is how a route's path matches: Exact, Prefix (by path element) or Regex (case-insensitive). */
export type PathKind = 'Exact' | 'Prefix' | 'Regex';

/** Rewrite is an ingress-nginx style rewrite: the path regex's captures `$1..$9` fill the target. */
export interface Rewrite {
  /** target is the new path, e.g. `/$2`; the query string is kept. */
  target: string;
  /** regex is the JavaScript/PCRE source, anchored at the start, matched case-insensitively. */
  regex: string;
}

/** Route is one path rule of a virtual host, already validated. */
export interface Route {
  kind: PathKind;
  /** path is the rule's path: normalised for Prefix (no trailing slash except `/`), the regex for Regex. */
  path: string;
  /** backend is the id of a `Backend` in the table. */
  backend: string;
  /** ingress is the "namespace/name" of the Ingress that owns the route. */
  ingress: string;
  /** redirectToHttps: plain-HTTP requests get a 308 to https (the host has a certificate). */
  redirectToHttps: boolean;
  /** allow, when present, is the only set of client CIDRs (normalised) allowed; others get 403. */
  allow?: string[];
  rewrite?: Rewrite;
}

/** VirtualHost groups the routes of one host: `foo.com`, `*.foo.com` (one label) or `*` (any host). */
export interface VirtualHost {
  host: string;
  /** routes are in precedence order: Exact, then longest path first, Prefix before Regex, older Ingress first. */
  routes: Route[];
}

/** Backend is one Service port with its ready endpoints, sorted by address then port. */
export interface Backend {
  /** id is "namespace/service:port" where port is the number or the name used by the Ingress. */
  id: string;
  endpoints: Endpoint[];
}

/** Certificate is a TLS Secret's PEM and the SNI names (hosts, possibly wildcards) it serves. */
export interface Certificate {
  /** secret is "namespace/name". */
  secret: string;
  hosts: string[];
  pem: string;
}

/** IssueKind: an `error` drops (or freezes) an Ingress, a `conflict` drops one rule, a `warning` drops nothing. */
export type IssueKind = 'error' | 'conflict' | 'warning';

/** Issue is something to tell the owner of an Ingress, as an Event (reason, message) and in logs. */
export interface Issue {
  ingress: string;
  kind: IssueKind;
  reason: string;
  message: string;
}

/** RouteTable is the whole routing state of the proxy; deterministic for a given input. */
export interface RouteTable {
  /** hosts: exact hosts (sorted), then wildcard hosts (sorted), then `*` if any rule has no host. */
  hosts: VirtualHost[];
  /** defaultBackend is the backend id used when no rule matches; undefined means 404. */
  defaultBackend?: string;
  /** backends, sorted by id. */
  backends: Backend[];
  /** certificates, sorted by secret. */
  certificates: Certificate[];
  /** ingresses are the "namespace/name" keys this controller serves (write their status), sorted. */
  ingresses: string[];
  /** accepted are the Ingresses that built without error: an edge keeps them as the last good version. */
  accepted: string[];
  issues: Issue[];
  /** gateway is the Gateway API routing served beside the Ingress rules (src/gateway), when there is any. */
  gateway?: GatewayRouting;
}
