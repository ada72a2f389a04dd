// Shapes of the Gateway API core: the plain API objects it reads (gateway.networking.k8s.io, only the fields
// it needs, as the API server returns them) and what it produces: the routing model the HAProxy renderer reads
// (GatewayRouting, carried by RouteTable.gateway) and the status every object must get.
import type { LabelSelector } from '../config/model.ts';
import type { ObjectMetaView } from '../ingress/types.ts';
import type { GrpcPrecedence } from './grpc.ts';

/** GATEWAY_GROUP is the API group of the Gateway API kinds. */
export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** GATEWAY_CONTROLLER is our GatewayClass `spec.controllerName`. */
export const GATEWAY_CONTROLLER = 'ironlb.io/gateway-controller';

/** Condition is a metav1.Condition; lastTransitionTime is filled by `mergeConditions`. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/** ObjectRef is a ParentReference / BackendObjectReference / SecretObjectReference as read from the API. */
export interface ObjectRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  sectionName?: string;
  port?: number;
}

/** GatewayClassObject is a GatewayClass. */
export interface GatewayClassObject {
  metadata?: ObjectMetaView & { generation?: number };
  spec?: { controllerName?: string; parametersRef?: unknown };
}

/** ListenerObject is one `spec.listeners[]` entry of a Gateway. */
export interface ListenerObject {
  name?: string;
  hostname?: string;
  port?: number;
  protocol?: string;
  tls?: { mode?: string; certificateRefs?: ObjectRef[] };
  allowedRoutes?: {
    namespaces?: { from?: string; selector?: LabelSelector };
    kinds?: { group?: string; kind?: string }[];
  };
}

/** GatewayObject is a Gateway. */
export interface GatewayObject {
  metadata?: ObjectMetaView & { generation?: number };
  spec?: {
    gatewayClassName?: string;
    listeners?: ListenerObject[];
    addresses?: { type?: string; value?: string }[];
  };
}

/** HTTPHeaderMatchObject is an HTTPHeaderMatch or HTTPQueryParamMatch. */
export interface ValueMatchObject {
  type?: string;
  name?: string;
  value?: string;
}

/** HTTPRouteMatchObject is one `rules[].matches[]` entry. */
export interface HTTPRouteMatchObject {
  path?: { type?: string; value?: string };
  headers?: ValueMatchObject[];
  queryParams?: ValueMatchObject[];
  method?: string;
}

/** HeaderModifierObject is an HTTPHeaderFilter. */
export interface HeaderModifierObject {
  set?: { name?: string; value?: string }[];
  add?: { name?: string; value?: string }[];
  remove?: string[];
}

/** PathModifierObject is an HTTPPathModifier. */
export interface PathModifierObject {
  type?: string;
  replaceFullPath?: string;
  replacePrefixMatch?: string;
}

/** HTTPRouteFilterObject is one HTTPRouteFilter. */
export interface HTTPRouteFilterObject {
  type?: string;
  requestHeaderModifier?: HeaderModifierObject;
  responseHeaderModifier?: HeaderModifierObject;
  requestRedirect?: {
    scheme?: string;
    hostname?: string;
    path?: PathModifierObject;
    port?: number;
    statusCode?: number;
  };
  urlRewrite?: { hostname?: string; path?: PathModifierObject };
  requestMirror?: { backendRef?: ObjectRef; percent?: number; fraction?: unknown };
  extensionRef?: unknown;
}

/** HTTPBackendRefObject is one `rules[].backendRefs[]` entry. */
export interface HTTPBackendRefObject extends ObjectRef {
  weight?: number;
  filters?: HTTPRouteFilterObject[];
}

/** HTTPRouteRuleObject is one `spec.rules[]` entry. */
export interface HTTPRouteRuleObject {
  name?: string;
  matches?: HTTPRouteMatchObject[];
  filters?: HTTPRouteFilterObject[];
  backendRefs?: HTTPBackendRefObject[];
  timeouts?: { request?: string; backendRequest?: string };
}

/** RouteParentStatusObject is one `status.parents[]` entry. */
export interface RouteParentStatusObject {
  parentRef: ObjectRef;
  controllerName: string;
  conditions: Condition[];
}

/** HTTPRouteObject is an HTTPRoute. */
export interface HTTPRouteObject {
  metadata?: ObjectMetaView & { generation?: number };
  spec?: { parentRefs?: ObjectRef[]; hostnames?: string[]; rules?: HTTPRouteRuleObject[] };
  status?: { parents?: RouteParentStatusObject[] };
}

/** ReferenceGrantObject is a ReferenceGrant (v1beta1). */
export interface ReferenceGrantObject {
  metadata?: ObjectMetaView;
  spec?: {
    from?: { group?: string; kind?: string; namespace?: string }[];
    to?: { group?: string; kind?: string; name?: string }[];
  };
}

/** NamespaceObject is the part of a Namespace that allowedRoutes selectors read. */
export interface NamespaceObject {
  metadata?: { name?: string; labels?: Record<string, string> };
}

/** PathMatch is a validated path match; Prefix paths are normalised (no trailing slash except `/`). */
export interface PathMatch {
  kind: 'Exact' | 'Prefix' | 'Regex';
  value: string;
}

/** ValueMatch is a validated header or query-parameter match (header names lower case). */
export interface ValueMatch {
  name: string;
  kind: 'Exact' | 'Regex';
  value: string;
}

/** HeaderOps are the set/add/remove operations of a header modifier filter (names as written). */
export interface HeaderOps {
  set: { name: string; value: string }[];
  add: { name: string; value: string }[];
  remove: string[];
}

/** PathReplace replaces the whole path, or the matched Prefix (`prefix`) with `value`. */
export type PathReplace = { kind: 'full'; value: string } | { kind: 'prefix'; prefix: string; value: string };

/** Redirect is a RequestRedirect filter; unset fields keep the request's value (see the spec's port rules). */
export interface Redirect {
  code: 301 | 302 | 303 | 307 | 308;
  scheme?: 'http' | 'https';
  hostname?: string;
  port?: number;
  path?: PathReplace;
}

/** WeightedBackend is one backendRef: a RouteTable backend id, or null when invalid (requests get 500). */
export interface WeightedBackend {
  backend: string | null;
  weight: number;
  /** h2: the backend is spoken to over HTTP/2 without TLS (h2c), as gRPC backends are. */
  h2?: boolean;
}

/** GatewayRule is one match of one HTTPRoute rule, ready to render: the match and what to do. */
export interface GatewayRule {
  /** route is "namespace/name" of the HTTPRoute; rule and match are indexes in it. */
  route: string;
  rule: number;
  match: number;
  path: PathMatch;
  method?: string;
  headers: ValueMatch[];
  query: ValueMatch[];
  requestHeaders?: HeaderOps;
  responseHeaders?: HeaderOps;
  redirect?: Redirect;
  rewrite?: { hostname?: string; path?: PathReplace };
  /** mirrors are backend ids that get a copy of each request (the answer is ignored). */
  mirrors?: string[];
  /** backends with weight > 0; empty (and no redirect) means 500. */
  backends: WeightedBackend[];
  /** timeoutMs bounds the wait for the backend (min of request and backendRequest timeouts). */
  timeoutMs?: number;
  /** grpc: the rule is a GRPCRoute's (its precedence; no valid backend answers 503, gRPC UNAVAILABLE). */
  grpc?: GrpcPrecedence;
}

/** GatewayVirtualHost is the rules of one hostname of a listener, in precedence order. */
export interface GatewayVirtualHost {
  /** host: `foo.com`, `*.foo.com` (any number of labels) or `*`. */
  host: string;
  rules: GatewayRule[];
}

/** GatewayListener is one accepted listener as the data plane serves it. */
export interface GatewayListener {
  /** gateway is "namespace/name"; name is the listener's name. */
  gateway: string;
  name: string;
  /** internalPort is the proxy port the Gateway's Service sends this listener's port to. */
  internalPort: number;
  /** port is the public listener port (redirects), protocol HTTP or HTTPS. */
  port: number;
  protocol: 'HTTP' | 'HTTPS';
  /** hostname: the listener's hostname or `*`. */
  hostname: string;
  /** vhosts in specificity order: exact names, wildcards (longest first), `*`. */
  vhosts: GatewayVirtualHost[];
}

/** TLSRouteObject is a TLSRoute (v1): SNI hostnames and the backends that get the raw TLS stream. */
export interface TLSRouteObject {
  metadata?: ObjectMetaView & { generation?: number };
  spec?: {
    parentRefs?: ObjectRef[];
    hostnames?: string[];
    rules?: { name?: string; backendRefs?: (ObjectRef & { weight?: number })[] }[];
  };
  status?: { parents?: RouteParentStatusObject[] };
}

/** PassthroughHost is one SNI hostname of a TLS passthrough listener and the backends its streams go to. */
export interface PassthroughHost {
  /** host: `foo.com`, `*.foo.com` or `*`; route is "namespace/name" of the TLSRoute that serves it. */
  host: string;
  route: string;
  /** backends with weight > 0; a null backend (invalid ref) rejects its share; empty rejects all. */
  backends: WeightedBackend[];
}

/** PassthroughListener is one accepted TLS listener in Passthrough mode as the data plane serves it. */
export interface PassthroughListener {
  gateway: string;
  name: string;
  /** internalPort is the proxy port (from the TLS passthrough range); HTTPS listeners on it hand off by SNI. */
  internalPort: number;
  port: number;
  hostname: string;
  /** hosts in specificity order: exact names, wildcards (longest first), `*`. */
  hosts: PassthroughHost[];
}

/** GatewayRouting is what the data plane serves for Gateways; sorted by internal port then hostname. */
export interface GatewayRouting {
  listeners: GatewayListener[];
  /** passthrough: TLS passthrough listeners (src/gateway/tls.ts), same order; absent: none. */
  passthrough?: PassthroughListener[];
}
