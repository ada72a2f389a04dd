// HAProxy renderer and planner. The RouteTable becomes a fixed configuration (frontend rules, backend and
// server slots) plus map files that carry everything that changes often (hosts, paths, allow-lists,
// rewrites), so that most changes are applied through the runtime API with no reload:
//
//   hosts.map      map_str  host → virtual host          wildcards.map  map_reg  ^[^.]+\.foo\.com$ → *.foo.com
//   exact.map      map_str  vhost+path → route value     paths.map      map_reg  ^vhost/prefix(?:/|$) → route value
//   allow.map      map_ip   CIDR → |allow-list ids|      rewrite.map    map_str  rewrite id → "target (?i)regex"
//
// A route value is "backendSlot:redirect:allowId:rewriteId". Backends are slots (b0, b1, ...) with server
// slots (s0, s1, ...): a new Service takes a free backend slot, a new endpoint a free server slot, through
// `set server`. Only a change of layout (listeners, more slots than rendered) needs a reload.
import { cidrContains, tryParseCidr } from '../address/address.ts';
import { GATEWAY_LUA, GATEWAY_MAP, gatewayMapText, needsH2 } from '../gateway/render.ts';
import {
  GATEWAY_TLS_LUA,
  GATEWAY_TLS_MAP,
  gatewayTlsFrontend,
  gatewayTlsMapText,
  handoffBind,
} from '../gateway/tls-render.ts';
import { anchoredRegexSource } from './paths.ts';
import type { Route, RouteTable } from './types.ts';

/** HaproxyOptions describe the listeners and limits; any change of them is structural (reload). */
export interface HaproxyOptions {
  /** dir is the absolute runtime directory: sockets and pid live there; the config refers to its files relatively. */
  dir: string;
  /** httpBinds are `bind` arguments for plain HTTP, e.g. `0.0.0.0:80` or `[::]:80 v4v6`. */
  httpBinds: string[];
  /** httpsBinds are `bind` arguments for TLS; empty means no TLS listener. */
  httpsBinds: string[];
  /** httpsPort is the public HTTPS port used in 308 redirects (omitted from the URL when 443). */
  httpsPort?: number;
  /**
   * publicHttpPort, when set, is reported in X-Forwarded-Port for plain HTTP (and httpsPort for TLS) instead
   * of the port HAProxy listens on: behind a Service that maps 80 → 8080, clients used 80.
   */
  publicHttpPort?: number;
  /**
   * gatewayHttpBinds and gatewayHttpsBinds are `bind` arguments (port ranges, e.g. `0.0.0.0:10000-10063`) of
   * the Gateway frontend: each Gateway listener port has its own proxy port there (src/gateway). Empty or
   * absent: no Gateway frontend.
   */
  gatewayHttpBinds?: string[];
  gatewayHttpsBinds?: string[];
  /**
   * gatewayTlsBinds are `bind` arguments (port ranges) of the TCP frontend of TLS passthrough listeners
   * (src/gateway/tls-render.ts); each backend slot then has a TCP twin `t<n>`. Empty or absent: none.
   */
  gatewayTlsBinds?: string[];
  /** defaultCertPem is served when no certificate matches the SNI (required when httpsBinds is not empty). */
  defaultCertPem?: string;
  threads?: number;
  maxconn?: number;
  /** minBackendSlots and minServerSlots: smallest slot counts rendered (headroom for runtime changes). */
  minBackendSlots?: number;
  minServerSlots?: number;
}

/** HaproxyState is what was last applied: the layout and the content of every slot, map and certificate. */
export interface HaproxyState {
  /** layout fingerprints everything structural; a different layout needs a reload. */
  layout: string;
  backendSlots: number;
  serverSlots: number;
  /** backends[slot] is a backend id or null (free). */
  backends: (string | null)[];
  /** servers[slot][server] is "address|port" or null (in maintenance). */
  servers: (string | null)[][];
  /** maps: file → rendered content. */
  maps: Record<string, string>;
  /** certs: file → hash of the PEM and the SNI names of its crt-list entry. */
  certs: Record<string, { hash: string; hosts: string[] }>;
  /**
   * h2: every backend slot b<n> has an HTTP/2 twin h<n> (same servers, `proto h2`) for Gateway rules that speak
   * h2c to their backends (GRPCRoute); rendered only while some rule needs it.
   */
  h2?: boolean;
}

/** RuntimeOp is one incremental change for the runtime API; `opCommands` gives its CLI text. */
export type RuntimeOp =
  | { op: 'setServer'; backend: string; server: string; address: string; port: number }
  | { op: 'disableServer'; backend: string; server: string }
  | { op: 'replaceMap'; file: string; content: string }
  | { op: 'newCert'; file: string; pem: string }
  | { op: 'updateCert'; file: string; pem: string }
  | { op: 'addCrtListEntry'; file: string; hosts: string[] }
  | { op: 'delCrtListEntry'; file: string }
  | { op: 'delCert'; file: string };

/** HaproxyPlan is the result of planning: the new state, every file, and either ops or a reload reason. */
export interface HaproxyPlan {
  state: HaproxyState;
  /** files: path relative to `dir` → content. Always complete, so a reload or restart needs nothing else. */
  files: Record<string, string>;
  /** reload is why a reload is needed (structural change), undefined when `ops` are enough. */
  reload?: string;
  /** ops apply the change to a running HAProxy in order (make before break); empty when nothing changed. */
  ops: RuntimeOp[];
}

/** CONFIG_FILE, CRT_LIST and the map file names, relative to the runtime directory. */
export const CONFIG_FILE = 'haproxy.cfg';
export const CRT_LIST = 'certs/list';
export const DEFAULT_CERT = 'certs/default.pem';
export const LUA_FILE = 'ironlb.lua';
export const MAPS = {
  hosts: 'maps/hosts.map',
  wildcards: 'maps/wildcards.map',
  exact: 'maps/exact.map',
  paths: 'maps/paths.map',
  allow: 'maps/allow.map',
  rewrite: 'maps/rewrite.map',
  gateway: GATEWAY_MAP,
} as const;

/** fnv1a returns the 32-bit FNV-1a hash of a string as 8 hex digits (ids of content-addressed map entries). */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function slotsFor(n: number, min: number): number {
  let s = 1;
  while (s < n + Math.ceil(n / 4) + 1) s *= 2;
  return Math.max(min, s);
}

/** allowId is the content-addressed id of an allow-list. */
export function allowId(cidrs: readonly string[]): string {
  return `a${fnv1a(cidrs.join(','))}`;
}

/** rewriteSpec is the rewrite.map value: the target, a space, then the case-insensitive regex. */
export function rewriteSpec(route: Route): string | undefined {
  return route.rewrite ? `${route.rewrite.target} (?i)${route.rewrite.regex}` : undefined;
}

/** pathKeyRegex is the paths.map key of a Prefix or Regex route of a virtual host. */
export function pathKeyRegex(vhost: string, route: Route): string {
  const v = escapeRegex(vhost);
  if (route.kind === 'Regex') return `^${v}(?i:${anchoredRegexSource(route.path).slice(1)})`;
  if (route.path === '/') return `^${v}/`;
  return `^${v}${escapeRegex(route.path)}(?:/|$)`;
}

/** certFile is the file name of a Secret's PEM ("ns/name" → certs/ns_name.pem; DNS names hold no "_"). */
export function certFile(secret: string): string {
  return `certs/${secret.replace('/', '_')}.pem`;
}

function pemForPayload(pem: string): string {
  // Runtime-API payloads end at the first empty line, so a PEM never carries one.
  return `${pem
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .join('\n')}\n`;
}

function mapText(entries: readonly (readonly [string, string])[]): string {
  return entries.map(([k, v]) => `${k} ${v}\n`).join('');
}

/**
 * allowMapText renders allow.map from allow-lists (id → CIDRs). map_ip answers the most specific CIDR only,
 * so each CIDR lists every allow-list holding it or a CIDR that contains it. O(cidrs × lists).
 */
export function allowMapText(lists: ReadonlyMap<string, readonly string[]>): string {
  const cidrs = new Map<string, ReturnType<typeof tryParseCidr>>();
  for (const list of lists.values())
    for (const c of list) cidrs.set(c, tryParseCidr(c, { bareAddress: true }));
  const entries: [string, string][] = [...cidrs.keys()].sort().map((c) => {
    const inner = cidrs.get(c);
    const ids = [...lists.entries()]
      .filter(([, list]) =>
        list.some((o) => {
          const outer = cidrs.get(o);
          return outer !== undefined && inner !== undefined && cidrContains(outer, inner);
        }),
      )
      .map(([id]) => id)
      .sort();
    return [c, `|${ids.join('|')}|`];
  });
  return mapText(entries);
}

interface RenderedMaps {
  [file: string]: string;
}

// Without a TLS listener there is nowhere to redirect to, so no route redirects. gateway-tls.map only with
// TLS passthrough listeners (`passthrough`).
function renderMaps(
  table: RouteTable,
  backendSlot: ReadonlyMap<string, number>,
  tls: boolean,
  passthrough: boolean,
): RenderedMaps {
  const slotName = (id: string): string => `b${backendSlot.get(id) ?? 0}`;
  const hosts: [string, string][] = [];
  const wildcards: [string, string][] = [];
  const exact: [string, string][] = [];
  const paths: [string, string][] = [];
  const allowLists = new Map<string, string[]>();
  const rewrites = new Map<string, string>();

  for (const vh of table.hosts) {
    if (vh.host.startsWith('*.')) wildcards.push([`^[^.]+${escapeRegex(vh.host.slice(1))}$`, vh.host]);
    else if (vh.host !== '*') hosts.push([vh.host, vh.host]);
    for (const r of vh.routes) {
      let aid = '-';
      if (r.allow) {
        aid = allowId(r.allow);
        allowLists.set(aid, r.allow);
      }
      let wid = '-';
      const spec = rewriteSpec(r);
      if (spec !== undefined) {
        wid = `w${fnv1a(spec)}`;
        rewrites.set(wid, spec);
      }
      const value = `${slotName(r.backend)}:${r.redirectToHttps && tls ? 1 : 0}:${aid}:${wid}`;
      if (r.kind === 'Exact') exact.push([`${vh.host}${r.path}`, value]);
      else paths.push([pathKeyRegex(vh.host, r), value]);
    }
  }
  if (table.defaultBackend !== undefined) paths.push(['^', `${slotName(table.defaultBackend)}:0:-:-`]);

  const rewrite: [string, string][] = [...rewrites.entries()].sort(([a], [b]) => (a < b ? -1 : 1));

  return {
    [MAPS.hosts]: mapText(hosts),
    [MAPS.wildcards]: mapText(wildcards),
    [MAPS.exact]: mapText(exact),
    [MAPS.paths]: mapText(paths),
    [MAPS.allow]: allowMapText(allowLists),
    [MAPS.rewrite]: mapText(rewrite),
    [MAPS.gateway]: gatewayMapText(table.gateway, (id, h2) =>
      backendSlot.has(id) ? `${h2 ? 'h' : 'b'}${backendSlot.get(id) ?? 0}` : undefined,
    ),
    ...(passthrough
      ? {
          [GATEWAY_TLS_MAP]: gatewayTlsMapText(table.gateway, (id) =>
            backendSlot.has(id) ? `t${backendSlot.get(id) ?? 0}` : undefined,
          ),
        }
      : {}),
  };
}

/** LUA_REWRITE is the Lua action that applies a rewrite.map spec to the request path (query kept). */
export const LUA_REWRITE = `-- Generated by IronLB. Applies "target (?i)regex" from rewrite.map: $1..$9 are the regex captures.
local cache, count = {}, 0

core.register_action("ironlb_rewrite", { "http-req" }, function(txn)
  local spec = txn:get_var("txn.rw")
  if spec == nil then return end
  local sp = string.find(spec, " ", 1, true)
  if sp == nil then return end
  local target, pattern = string.sub(spec, 1, sp - 1), string.sub(spec, sp + 1)
  local re = cache[pattern]
  if re == nil then
    local ok, compiled = Regex.new(pattern, false)
    if not ok then return end
    if count >= 1024 then cache, count = {}, 0 end
    cache[pattern], count, re = compiled, count + 1, compiled
  end
  local matched, caps = re:match(txn.sf:path())
  if not matched then return end
  local path = string.gsub(target, "%$([1-9])", function(d) return caps[tonumber(d) + 1] or "" end)
  txn.http:req_set_path(path)
end)
`;

function layoutOf(options: HaproxyOptions, backendSlots: number, serverSlots: number, h2: boolean): string {
  return fnv1a(
    JSON.stringify([
      options.dir,
      options.httpBinds,
      options.httpsBinds,
      ...(options.gatewayHttpBinds?.length || options.gatewayHttpsBinds?.length
        ? [options.gatewayHttpBinds ?? [], options.gatewayHttpsBinds ?? []]
        : []),
      ...(options.gatewayTlsBinds?.length ? [options.gatewayTlsBinds] : []),
      options.httpsPort ?? 443,
      ...(options.publicHttpPort !== undefined ? [options.publicHttpPort] : []),
      options.threads ?? 1,
      options.maxconn ?? 4096,
      backendSlots,
      serverSlots,
      ...(h2 ? ['h2'] : []),
    ]),
  );
}

function formatServer(value: string | null): string {
  if (value === null) return '127.0.0.1:1 disabled';
  const [address = '', port = ''] = value.split('|');
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

const NORMALIZE_URI = [
  '  # Match on a normalised path, as nginx does: no "//", "/./", "/../", no %-encoded unreserved characters.',
  '  http-request normalize-uri path-merge-slashes',
  '  http-request normalize-uri path-strip-dot',
  '  http-request normalize-uri path-strip-dotdot',
  '  http-request normalize-uri percent-decode-unreserved',
  '  http-request normalize-uri percent-to-uppercase',
];

/** gatewayFrontend renders the Gateway API frontend (src/gateway/render.ts does the routing in Lua). */
function gatewayFrontend(options: HaproxyOptions): string[] {
  const http = options.gatewayHttpBinds ?? [];
  const https = [
    ...(options.gatewayHttpsBinds ?? []),
    ...(options.gatewayTlsBinds?.length ? [handoffBind(options.dir)] : []),
  ];
  if (http.length === 0 && https.length === 0) return [];
  return [
    '',
    'frontend ironlb_gateway',
    ...http.map((b) => `  bind ${b}`),
    ...https.map((b) => `  bind ${b} ssl crt ${DEFAULT_CERT} crt-list ${CRT_LIST} alpn h2,http/1.1`),
    ...NORMALIZE_URI,
    '  http-request lua.ironlb_gateway',
    '  http-request return status 404 content-type text/plain string "404 page not found" if !{ var(txn.gw) -m found }',
    ...[301, 302, 303, 307, 308].map(
      (c) =>
        `  http-request redirect location %[var(txn.gwloc)] code ${c} if { var(txn.gwcode) -m str ${c} }`,
    ),
    '  http-request return status 500 content-type text/plain string "500 no valid backend for this route" if { var(txn.gwb) -m str x }',
    '  http-request return status 503 content-type text/plain string "503 no valid backend for this route" if { var(txn.gwb) -m str u }',
    '  http-request set-header X-Forwarded-For %[src]',
    '  http-request set-header X-Forwarded-Proto https if { ssl_fc }',
    '  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }',
    '  http-response lua.ironlb_gateway_response if { var(txn.gwrs) -m found }',
    '  use_backend %[var(txn.gwb)]',
    '  default_backend ironlb_unavailable',
  ];
}

/** renderConfig renders haproxy.cfg for a state. Pure; golden-tested. */
export function renderConfig(state: HaproxyState, options: HaproxyOptions): string {
  const tls = options.httpsBinds.length > 0;
  const gateway = (options.gatewayHttpBinds?.length ?? 0) + (options.gatewayHttpsBinds?.length ?? 0) > 0;
  const port = options.httpsPort ?? 443;
  const portSuffix = port === 443 ? '' : `:${port}`;
  const lines: string[] = [
    '# Generated by IronLB from the Ingress route table. Do not edit: it is rewritten on every change.',
    'global',
    '  default-path config',
    '  # normalize-uri (below) is marked experimental in HAProxy 2.6; matching a raw path would let',
    '  # "/%61dmin" slip past an allow-list on "/admin".',
    '  expose-experimental-directives',
    `  nbthread ${options.threads ?? 1}`,
    `  maxconn ${options.maxconn ?? 4096}`,
    `  pidfile ${options.dir}/haproxy.pid`,
    `  stats socket ${options.dir}/admin.sock mode 600 level admin expose-fd listeners`,
    `  lua-load-per-thread ${LUA_FILE}`,
    '  # an old worker left by a reload finishes its requests, but not forever',
    '  hard-stop-after 30s',
    '  tune.ssl.default-dh-param 2048',
    '  ssl-default-bind-options ssl-min-ver TLSv1.2',
    '',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-request 10s',
    '  timeout http-keep-alive 60s',
    '  timeout queue 5s',
    '  retries 2',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response',
    '',
    'frontend ironlb',
    ...options.httpBinds.map((b) => `  bind ${b}`),
    ...(tls
      ? options.httpsBinds.map(
          (b) => `  bind ${b} ssl crt ${DEFAULT_CERT} crt-list ${CRT_LIST} alpn h2,http/1.1`,
        )
      : []),
    ...NORMALIZE_URI,
    "  http-request set-var(txn.host) 'req.hdr(host),lower,regsub(:[0-9]+$,)'",
    `  http-request set-var(txn.vhost) var(txn.host),map_str(${MAPS.hosts})`,
    `  http-request set-var(txn.vhost) var(txn.host),map_reg(${MAPS.wildcards}) if !{ var(txn.vhost) -m found }`,
    '  http-request set-var(txn.vhost) str(*) if !{ var(txn.vhost) -m found }',
    '  http-request set-var-fmt(txn.key) %[var(txn.vhost)]%[path]',
    `  http-request set-var(txn.route) var(txn.key),map_str(${MAPS.exact})`,
    `  http-request set-var(txn.route) var(txn.key),map_reg(${MAPS.paths}) if !{ var(txn.route) -m found }`,
    '  http-request return status 404 content-type text/plain string "404 page not found" if !{ var(txn.route) -m found }',
    `  http-request redirect location https://%[var(txn.host)]${portSuffix}%[capture.req.uri] code 308 if !{ ssl_fc } { var(txn.route),field(2,:) -m str 1 }`,
    '  http-request set-var(txn.allow) var(txn.route),field(3,:)',
    `  http-request set-var-fmt(txn.allowed) %[var(txn.allow)]%[src,map_ip(${MAPS.allow},|)]`,
    "  http-request deny deny_status 403 if !{ var(txn.allow) -m str -- - } !{ var(txn.allowed) -m reg '^(?<id>[^|]+)\\|(.*\\|)?\\k<id>\\|' }",
    '  http-request set-header X-Request-ID %[uuid()] if !{ req.hdr(x-request-id) -m found }',
    '  http-request set-header X-Real-IP %[src]',
    '  http-request set-header X-Forwarded-For %[src]',
    '  http-request set-header X-Forwarded-Host %[req.hdr(host)]',
    ...(options.publicHttpPort !== undefined
      ? [
          `  http-request set-header X-Forwarded-Port ${port} if { ssl_fc }`,
          `  http-request set-header X-Forwarded-Port ${options.publicHttpPort} if !{ ssl_fc }`,
        ]
      : ['  http-request set-header X-Forwarded-Port %[dst_port]']),
    '  http-request set-header X-Forwarded-Proto https if { ssl_fc }',
    '  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }',
    `  http-request set-var(txn.rw) var(txn.route),field(4,:),map(${MAPS.rewrite})`,
    '  http-request lua.ironlb_rewrite if { var(txn.rw) -m found }',
    '  use_backend %[var(txn.route),field(1,:)]',
    '  default_backend ironlb_unavailable',
    ...gatewayFrontend(options),
    ...gatewayTlsFrontend(options.gatewayTlsBinds ?? [], options.dir),
    '',
    'backend ironlb_unavailable',
    '  http-request return status 503 content-type text/plain string "503 service unavailable"',
  ];
  for (let b = 0; b < state.backendSlots; b++) {
    lines.push('', `backend b${b}`);
    const id = state.backends[b] ?? null;
    if (id !== null) lines.push(`  # ${id}`);
    lines.push('  balance roundrobin');
    // a Gateway rule's timeouts (src/gateway); set-timeout needs a backend, so every slot carries it
    if (gateway)
      lines.push('  http-request set-timeout server var(txn.gwtmo) if { var(txn.gwtmo) -m found }');
    for (let s = 0; s < state.serverSlots; s++) {
      lines.push(`  server s${s} ${formatServer(state.servers[b]?.[s] ?? null)}`);
    }
    // the TCP twin for TLS passthrough (src/gateway/tls-render.ts): the same servers, raw streams
    if (options.gatewayTlsBinds?.length) {
      lines.push('', `backend t${b}`, '  mode tcp', '  balance roundrobin');
      for (let s = 0; s < state.serverSlots; s++)
        lines.push(`  server s${s} ${formatServer(state.servers[b]?.[s] ?? null)}`);
    }
    // the HTTP/2 twin for h2c backends (GRPCRoute; ingress/DATAPLANE.md): the same servers, `proto h2`
    if (state.h2) {
      lines.push('', `backend h${b}`);
      if (id !== null) lines.push(`  # ${id}`);
      lines.push('  balance roundrobin');
      if (gateway)
        lines.push('  http-request set-timeout server var(txn.gwtmo) if { var(txn.gwtmo) -m found }');
      for (let s = 0; s < state.serverSlots; s++)
        lines.push(`  server s${s} ${formatServer(state.servers[b]?.[s] ?? null)} proto h2`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function crtListText(certs: HaproxyState['certs']): string {
  return Object.keys(certs)
    .sort()
    .map((f) => `${f} ${(certs[f]?.hosts ?? []).join(' ')}\n`)
    .join('');
}

/** PlanOptions: the previous state (undefined at start) and the listener options. */
export interface PlanOptions extends HaproxyOptions {
  previous?: HaproxyState;
}

/**
 * planHaproxy computes the next state, all files, and how to get there from `previous`: runtime ops when the
 * layout holds, else a reload reason. Slots keep their occupant while it exists; a backend slot freed by
 * this plan is not reused before the next one, so an old route can never reach a new Service's pods.
 */
export function planHaproxy(table: RouteTable, options: PlanOptions): HaproxyPlan {
  const prev = options.previous;
  const ids = table.backends.map((b) => b.id);
  const idSet = new Set(ids);
  const maxEndpoints = Math.max(0, ...table.backends.map((b) => b.endpoints.length));

  // Backend slots: keep, then fill slots that were already free before this plan.
  let backendSlots = prev?.backendSlots ?? 0;
  let serverSlots = prev?.serverSlots ?? 0;
  const backends: (string | null)[] = [];
  for (let i = 0; i < backendSlots; i++) {
    const id = prev?.backends[i] ?? null;
    backends.push(id !== null && idSet.has(id) ? id : null);
  }
  const placed = new Set(backends.filter((b): b is string => b !== null));
  const wanted = ids.filter((id) => !placed.has(id));
  const reusable = backends.flatMap((b, i) =>
    b === null && (prev?.backends[i] ?? null) === null ? [i] : [],
  );
  let reason: string | undefined = prev ? undefined : 'initial configuration';
  if (wanted.length > reusable.length) {
    const grown = slotsFor(
      ids.length + (backendSlots - reusable.length - placed.size),
      options.minBackendSlots ?? 8,
    );
    if (grown > backendSlots) {
      reason ??= `backend slots grow from ${backendSlots} to ${grown}`;
      for (let i = backendSlots; i < grown; i++) {
        backends.push(null);
        reusable.push(i);
      }
      backendSlots = grown;
    }
  }
  for (const id of wanted) {
    const slot = reusable.shift();
    if (slot !== undefined) backends[slot] = id;
  }
  if (maxEndpoints > serverSlots) {
    const grown = slotsFor(maxEndpoints, options.minServerSlots ?? 4);
    reason ??= `server slots grow from ${serverSlots} to ${grown}`;
    serverSlots = grown;
  }
  const h2 = needsH2(table.gateway);
  const layout = layoutOf(options, backendSlots, serverSlots, h2);
  if (prev && prev.layout !== layout) reason ??= 'listeners or limits changed';

  // Server slots: keep endpoints where they are, fill the free slots.
  const byId = new Map(table.backends.map((b) => [b.id, b]));
  const servers: (string | null)[][] = backends.map((id, b) => {
    const want = new Set(
      (id !== null ? (byId.get(id)?.endpoints ?? []) : []).map((e) => `${e.address}|${e.port}`),
    );
    const old = id !== null && prev?.backends[b] === id ? (prev.servers[b] ?? []) : [];
    const row: (string | null)[] = [];
    for (let s = 0; s < serverSlots; s++) {
      const v = old[s] ?? null;
      row.push(v !== null && want.has(v) ? v : null);
    }
    for (const v of row) if (v !== null) want.delete(v);
    for (const v of [...want].sort()) {
      const free = row.indexOf(null);
      if (free !== -1) row[free] = v;
    }
    return row;
  });

  const slotOf = new Map<string, number>();
  backends.forEach((id, i) => {
    if (id !== null) slotOf.set(id, i);
  });
  const twins = (options.gatewayTlsBinds?.length ?? 0) > 0;
  const maps = renderMaps(table, slotOf, options.httpsBinds.length > 0, twins);

  const certs: HaproxyState['certs'] = {};
  const files: Record<string, string> = {};
  for (const c of table.certificates) {
    const file = certFile(c.secret);
    const pem = pemForPayload(c.pem);
    certs[file] = { hash: fnv1a(pem), hosts: c.hosts };
    files[file] = pem;
  }

  const state: HaproxyState = {
    layout,
    backendSlots,
    serverSlots,
    backends,
    servers,
    maps,
    certs,
    ...(h2 ? { h2 } : {}),
  };
  files[CONFIG_FILE] = renderConfig(state, options);
  files[LUA_FILE] = LUA_REWRITE + GATEWAY_LUA + (twins ? GATEWAY_TLS_LUA : '');
  files[CRT_LIST] = crtListText(certs);
  if (options.defaultCertPem !== undefined) files[DEFAULT_CERT] = pemForPayload(options.defaultCertPem);
  for (const [f, text] of Object.entries(maps)) files[f] = text;

  if (reason !== undefined || !prev)
    return { state, files, reload: reason ?? 'initial configuration', ops: [] };
  return { state, files, ops: diffOps(prev, state, files, twins) };
}

function mergeMaps(file: string, a: string, b: string): string {
  if (file !== MAPS.allow) {
    const seen = new Set<string>();
    return (b + a)
      .split('\n')
      .filter((l) => l !== '' && !seen.has(l.split(' ')[0] ?? '') && seen.add(l.split(' ')[0] ?? ''))
      .map((l) => `${l}\n`)
      .join('');
  }
  // allow.map: rebuild every allow-list of both maps, then the containment closure over all of them.
  const lists = new Map<string, string[]>();
  for (const l of (a + b).split('\n')) {
    if (l === '') continue;
    const [cidr = '', v = ''] = l.split(' ');
    for (const id of v.split('|')) {
      if (id === '') continue;
      const list = lists.get(id);
      if (list) list.push(cidr);
      else lists.set(id, [cidr]);
    }
  }
  return allowMapText(lists);
}

// `twins`: every backend slot b<n> has a TCP twin t<n> with the same servers (TLS passthrough); `next.h2`: an
// HTTP/2 twin h<n> too (GRPCRoute).
function diffOps(
  prev: HaproxyState,
  next: HaproxyState,
  files: Record<string, string>,
  twins: boolean,
): RuntimeOp[] {
  const ops: RuntimeOp[] = [];
  // 1. Certificates that appear or change, so TLS is ready before routes redirect to it.
  for (const [file, c] of Object.entries(next.certs)) {
    const old = prev.certs[file];
    const pem = files[file] ?? '';
    if (!old) {
      ops.push({ op: 'newCert', file, pem }, { op: 'addCrtListEntry', file, hosts: c.hosts });
      continue;
    }
    if (old.hash !== c.hash) ops.push({ op: 'updateCert', file, pem });
    if (old.hosts.join(' ') !== c.hosts.join(' ')) {
      ops.push({ op: 'delCrtListEntry', file }, { op: 'addCrtListEntry', file, hosts: c.hosts });
    }
  }
  // 2. Servers that get an address (make before break).
  const disable: RuntimeOp[] = [];
  next.servers.forEach((row, b) =>
    row.forEach((v, s) => {
      const old = prev.servers[b]?.[s] ?? null;
      if (v === old) return;
      const names = [`b${b}`, ...(twins ? [`t${b}`] : []), ...(next.h2 ? [`h${b}`] : [])];
      if (v === null) {
        for (const backend of names) disable.push({ op: 'disableServer', backend, server: `s${s}` });
        return;
      }
      const [address = '', port = '0'] = v.split('|');
      for (const backend of names)
        ops.push({ op: 'setServer', backend, server: `s${s}`, address, port: Number(port) });
    }),
  );
  // 3. Maps: allow and rewrite entries first as a union of old and new, then the routing maps, then the final
  //    allow and rewrite maps, so no request ever sees a route whose allow-list or rewrite is missing.
  const aux = [MAPS.allow, MAPS.rewrite];
  const routing = [MAPS.hosts, MAPS.wildcards, MAPS.exact, MAPS.paths, MAPS.gateway, GATEWAY_TLS_MAP];
  const changed = (f: string): boolean => prev.maps[f] !== next.maps[f];
  const routingChanges = routing.some(changed);
  for (const f of aux) {
    if (!changed(f)) continue;
    const union = mergeMaps(f, prev.maps[f] ?? '', next.maps[f] ?? '');
    if (routingChanges && union !== next.maps[f] && union !== prev.maps[f]) {
      ops.push({ op: 'replaceMap', file: f, content: union });
    }
  }
  for (const f of routing)
    if (changed(f)) ops.push({ op: 'replaceMap', file: f, content: next.maps[f] ?? '' });
  for (const f of aux) if (changed(f)) ops.push({ op: 'replaceMap', file: f, content: next.maps[f] ?? '' });
  // 4. Servers that lose their address, then certificates that are gone.
  ops.push(...disable);
  for (const file of Object.keys(prev.certs)) {
    if (!next.certs[file]) ops.push({ op: 'delCrtListEntry', file }, { op: 'delCert', file });
  }
  return ops;
}

/**
 * opCommands returns the CLI commands of one op, in order. A `replaceMap` needs the version answered by
 * `prepare map <file>` (sent first by the caller); its payload is raw (payloads do not unescape).
 */
export function opCommands(op: RuntimeOp, mapVersion = 0): string[] {
  switch (op.op) {
    case 'setServer':
      return [
        `set server ${op.backend}/${op.server} addr ${op.address} port ${op.port}`,
        `set server ${op.backend}/${op.server} state ready`,
      ];
    case 'disableServer':
      return [`set server ${op.backend}/${op.server} state maint`];
    case 'replaceMap':
      return [
        ...(op.content === '' ? [] : [`add map @${mapVersion} ${op.file} <<\n${op.content}\n`]),
        `commit map @${mapVersion} ${op.file}`,
      ];
    case 'newCert':
      return [
        `new ssl cert ${op.file}`,
        `set ssl cert ${op.file} <<\n${op.pem}\n`,
        `commit ssl cert ${op.file}`,
      ];
    case 'updateCert':
      return [`set ssl cert ${op.file} <<\n${op.pem}\n`, `commit ssl cert ${op.file}`];
    case 'addCrtListEntry':
      return [`add ssl crt-list ${CRT_LIST} <<\n${[op.file, ...op.hosts].join(' ')}\n\n`];
    case 'delCrtListEntry':
      return [`del ssl crt-list ${CRT_LIST} ${op.file}`];
    case 'delCert':
      return [`del ssl cert ${op.file}`];
  }
}
