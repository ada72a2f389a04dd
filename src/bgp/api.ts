// JSON shapes of the GoBGP v3 gRPC requests we send (package apipb, gobgp.proto + attribute.proto as installed
// by Debian's golang-github-osrg-gobgp-dev). Field names are the proto field names (snake_case, as
// @grpc/proto-loader with keepCase expects); enums are their names. A google.protobuf.Any is written in the
// protobuf JSON mapping: `{"@type": "type.googleapis.com/apipb.X", ...fields of X}`; protobufjs encodes it into
// {type_url, value} when serializing, provided the edge loaded attribute.proto next to gobgp.proto.

/** ANY_TYPE_URL_PREFIX is the type URL prefix gobgpd expects on every Any. */
export const ANY_TYPE_URL_PREFIX = 'type.googleapis.com/apipb.';

/** ApiAny is a google.protobuf.Any in protobuf JSON form: `@type` plus the fields of the packed message. */
export type ApiAny = { readonly '@type': string } & { readonly [field: string]: unknown };

/** anyOf packs a message of the given apipb type name as an ApiAny. */
export function anyOf(typeName: string, fields: Readonly<Record<string, unknown>>): ApiAny {
  return { '@type': `${ANY_TYPE_URL_PREFIX}${typeName}`, ...fields };
}

/** anyTypeName returns the apipb message name of an ApiAny (`IPAddressPrefix`), or undefined for a foreign type. */
export function anyTypeName(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const type = (value as { '@type'?: unknown })['@type'];
  if (typeof type !== 'string' || !type.startsWith(ANY_TYPE_URL_PREFIX)) return undefined;
  return type.slice(ANY_TYPE_URL_PREFIX.length);
}

/** ApiFamily is apipb.Family for the two unicast families we announce. */
export interface ApiFamily {
  readonly afi: 'AFI_IP' | 'AFI_IP6';
  readonly safi: 'SAFI_UNICAST';
}

/** API_FAMILY maps our family names to apipb.Family. */
export const API_FAMILY = {
  ipv4: { afi: 'AFI_IP', safi: 'SAFI_UNICAST' },
  ipv6: { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' },
} as const satisfies Record<'ipv4' | 'ipv6', ApiFamily>;

/** StartBgpRequest is apipb.StartBgpRequest; listen_port -1 means gobgpd opens no listener (sessions are outbound). */
export interface StartBgpRequest {
  readonly global: {
    readonly asn: number;
    readonly router_id: string;
    readonly listen_port: number;
  };
}

/** AddPathRequest is apipb.AddPathRequest into the global table. */
export interface AddPathRequest {
  readonly table_type: 'GLOBAL';
  readonly path: {
    readonly family: ApiFamily;
    readonly nlri: ApiAny;
    readonly pattrs: readonly ApiAny[];
  };
}

/**
 * DeletePathRequest is apipb.DeletePathRequest naming one path by uuid (base64 of the 16 bytes). It has no
 * `path` and no `family` field on purpose: only buildDeletePathRequest makes one, from a PathUuid.
 */
export interface DeletePathRequest {
  readonly table_type: 'GLOBAL';
  readonly uuid: string;
}

/**
 * AfiSafiRequest is the part of apipb.AfiSafi we set: which family the session negotiates, and (graceful
 * restart) that the family's routes are kept across a restart (apipb.MpGracefulRestart).
 */
export interface AfiSafiRequest {
  readonly config: { readonly family: ApiFamily; readonly enabled: true };
  readonly mp_graceful_restart?: { readonly config: { readonly enabled: true } };
}

/** GracefulRestartRequest is the part of apipb.GracefulRestart we set (BGPPeer.spec.enableGracefulRestart). */
export interface GracefulRestartRequest {
  readonly enabled: true;
  /** restart_time: seconds the router keeps this node's routes while the session is down (RFC 4724). */
  readonly restart_time: number;
  /** deferral_time: seconds gobgpd waits for the router's End-of-RIB before sending its own routes anyway. */
  readonly deferral_time: number;
  /** local_restarting: the OPEN says "restarting, forwarding kept" (R and F bits), so stale routes stay until End-of-RIB. */
  readonly local_restarting: true;
}

/** AddPeerRequest is apipb.AddPeerRequest with the fields IronLB sets (see buildAddPeerRequest). */
export interface AddPeerRequest {
  readonly peer: {
    readonly conf: {
      readonly neighbor_address: string;
      readonly peer_asn: number;
      readonly local_asn: number;
      readonly auth_password?: string;
      readonly description?: string;
    };
    readonly ebgp_multihop?: { readonly enabled: true; readonly multihop_ttl: number };
    readonly timers: {
      readonly config: {
        readonly connect_retry: number;
        readonly hold_time: number;
        readonly keepalive_interval: number;
      };
    };
    readonly transport: {
      readonly remote_port: number;
      readonly local_address?: string;
      readonly passive_mode: false;
    };
    readonly afi_safis: readonly AfiSafiRequest[];
    readonly graceful_restart?: GracefulRestartRequest;
  };
}

/** DeletePeerRequest is apipb.DeletePeerRequest by neighbor address. */
export interface DeletePeerRequest {
  readonly address: string;
}
