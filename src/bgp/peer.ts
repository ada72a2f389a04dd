// Pure peer building: a BGPPeer boiled down to what gobgpd needs -> AddPeer / DeletePeer / StartBgp requests.

import {
  API_FAMILY,
  type AddPeerRequest,
  type AfiSafiRequest,
  type DeletePeerRequest,
  type StartBgpRequest,
} from './api.ts';
import { formatIPAddress, parseIPAddress } from './prefix.ts';

/**
 * PeerSpec is one BGP session the speaker opens. Times are whole seconds. The config parser has already derived
 * holdTime/keepaliveTime from each other (MetalLB: ×3 / ÷3, default hold 90 s) and resolved passwordSecret.
 */
export interface PeerSpec {
  readonly address: string;
  /** port: the peer's TCP port; default 179. */
  readonly port?: number;
  /** peerASN: the router's ASN; 0 accepts whatever ASN the router sends (MetalLB's dynamicASN). */
  readonly peerASN: number;
  readonly myASN: number;
  /** holdTime: 3–65535. 0 ("no keepalives") is rejected: gobgpd's API reads 0 as "use my default, 90 s". */
  readonly holdTime: number;
  /** keepaliveTime: 1–holdTime. */
  readonly keepaliveTime: number;
  /**
   * connectTime: seconds between connection attempts; default 5 (gobgpd's own
   * default is 120). gobgpd never retries faster than every 5 s and makes its first attempt 5–10 s after AddPeer
   * (pkg/server/fsm.go, minConnectRetryInterval), so values below 5 behave as 5.
   */
  readonly connectTime?: number;
  /** ebgpMultiHop: allow the eBGP peer to be more than one hop away (TTL 255); rejected for iBGP, as in MetalLB. */
  readonly ebgpMultiHop?: boolean;
  /** password: TCP MD5 (RFC 2385) key. Never logged: see redactAddPeerRequest. */
  readonly password?: string;
  readonly sourceAddress?: string;
  /** families: which unicast families the session negotiates; at least one. */
  readonly families: { readonly ipv4: boolean; readonly ipv6: boolean };
  /** description: free text shown by `gobgp neighbor`; e.g. the BGPPeer's name. */
  readonly description?: string;
  /**
   * gracefulRestart: BGP graceful restart (RFC 4724) on this session, MetalLB's BGPPeer.enableGracefulRestart:
   * when the session drops without a NOTIFICATION (gobgpd killed, the speaker pod restarting), the router keeps
   * this node's routes, marked stale, for GRACEFUL_RESTART_TIME seconds and drops them only if they are not
   * announced again by then. See buildAddPeerRequest.
   */
  readonly gracefulRestart?: boolean;
}

/** GRACEFUL_RESTART_TIME is the restart time (seconds) a graceful-restart session announces: FRR's default, as in MetalLB. */
export const GRACEFUL_RESTART_TIME = 120;

/**
 * GRACEFUL_RESTART_DEFERRAL is how long (seconds) a restarted gobgpd holds its routes back waiting for a
 * router's End-of-RIB (RFC 4724 selection deferral). Routers send it right after the session comes up; the
 * bound only matters for one that never does. gobgpd's own default is 360 s.
 */
export const GRACEFUL_RESTART_DEFERRAL = 10;

/** DEFAULT_CONNECT_TIME is the connect retry (seconds) used when a peer gives none. */
export const DEFAULT_CONNECT_TIME = 5;

/** EBGP_MULTIHOP_TTL is the TTL used for ebgpMultiHop peers (FRR's `ebgp-multihop` default). */
export const EBGP_MULTIHOP_TTL = 255;

function checkInteger(value: number, min: number, max: number, what: string, subject: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Invalid ${subject}: ${what} ${value} must be an integer from ${min} to ${max}`);
  }
}

/**
 * buildAddPeerRequest renders the AddPeer request: neighbor address and ASNs (per-peer local_asn, so peers with
 * different myASN share one gobgpd), MD5 password if any, multihop, timers (connect_retry = connectTime, so a
 * session is retried within seconds, not 120 s; gobgpd 3.10 ignores idle_hold_time_after_reset over the API,
 * so it is not sent), remote port and source address, and the enabled families. With gracefulRestart, the
 * graceful restart capability for every family, restart time GRACEFUL_RESTART_TIME, and the OPEN always says
 * "restarting, forwarding state kept" (R and F bits; gobgpd clears it once the router's End-of-RIB arrived):
 * a new speaker cannot know whether the router still holds its predecessor's routes, and with the F bit unset
 * the router would drop them the moment the session is back, before this speaker announced them again. Not
 * sent: notification_enabled (RFC 8538; FRR's default is off, as MetalLB leaves it). Throws TypeError/RangeError
 * naming the peer.
 */
export function buildAddPeerRequest(peer: PeerSpec): AddPeerRequest {
  let address: string;
  try {
    address = formatIPAddress(parseIPAddress(peer.address));
  } catch (error) {
    throw new TypeError(`Invalid peer "${peer.address}": not an IP address`, { cause: error });
  }
  const family = parseIPAddress(address).family;
  const subject = `peer "${address}"`;
  checkInteger(peer.peerASN, 0, 0xffffffff, 'peerASN', subject);
  checkInteger(peer.myASN, 1, 0xffffffff, 'myASN', subject);
  checkInteger(peer.port ?? 179, 1, 65535, 'port', subject);
  checkInteger(peer.holdTime, 3, 65535, 'holdTime', subject);
  checkInteger(peer.keepaliveTime, 1, peer.holdTime, 'keepaliveTime', subject);
  const connectTime = peer.connectTime ?? DEFAULT_CONNECT_TIME;
  checkInteger(connectTime, 1, 65535, 'connectTime', subject);
  if (peer.ebgpMultiHop === true && peer.peerASN === peer.myASN) {
    throw new RangeError(`Invalid peer "${address}": ebgpMultiHop is not allowed for an iBGP session`);
  }
  if (!peer.families.ipv4 && !peer.families.ipv6) {
    throw new RangeError(`Invalid peer "${address}": no address family enabled`);
  }
  let sourceAddress: string | undefined;
  if (peer.sourceAddress !== undefined) {
    const source = parseIPAddress(peer.sourceAddress);
    if (source.family !== family) {
      throw new TypeError(
        `Invalid peer "${address}": source address "${peer.sourceAddress}" is not ${family}`,
      );
    }
    sourceAddress = formatIPAddress(source);
  }
  const gr = peer.gracefulRestart === true;
  const afiSafis: AfiSafiRequest[] = (['ipv4', 'ipv6'] as const)
    .filter((f) => peer.families[f])
    .map((f) => ({
      config: { family: API_FAMILY[f], enabled: true },
      ...(gr ? { mp_graceful_restart: { config: { enabled: true } } } : {}),
    }));
  return {
    peer: {
      conf: {
        neighbor_address: address,
        peer_asn: peer.peerASN,
        local_asn: peer.myASN,
        ...(peer.password !== undefined && peer.password !== '' ? { auth_password: peer.password } : {}),
        ...(peer.description !== undefined ? { description: peer.description } : {}),
      },
      ...(peer.ebgpMultiHop === true
        ? { ebgp_multihop: { enabled: true, multihop_ttl: EBGP_MULTIHOP_TTL } }
        : {}),
      timers: {
        config: {
          connect_retry: connectTime,
          hold_time: peer.holdTime,
          keepalive_interval: peer.keepaliveTime,
        },
      },
      transport: {
        remote_port: peer.port ?? 179,
        ...(sourceAddress !== undefined ? { local_address: sourceAddress } : {}),
        passive_mode: false,
      },
      afi_safis: afiSafis,
      ...(gr
        ? {
            graceful_restart: {
              enabled: true,
              restart_time: GRACEFUL_RESTART_TIME,
              deferral_time: GRACEFUL_RESTART_DEFERRAL,
              local_restarting: true,
            },
          }
        : {}),
    },
  };
}

/** redactAddPeerRequest returns the request with the MD5 password replaced by `<redacted>`, for logs and errors. */
export function redactAddPeerRequest(request: AddPeerRequest): AddPeerRequest {
  if (request.peer.conf.auth_password === undefined) return request;
  return {
    ...request,
    peer: { ...request.peer, conf: { ...request.peer.conf, auth_password: '<redacted>' } },
  };
}

/** buildDeletePeerRequest renders DeletePeer for the peer's (canonical) address. */
export function buildDeletePeerRequest(address: string): DeletePeerRequest {
  return { address: formatIPAddress(parseIPAddress(address)) };
}

/** GlobalSpec is the speaker's gobgpd instance: its default ASN and router ID (an IPv4 address, RFC 6286 form). */
export interface GlobalSpec {
  readonly asn: number;
  readonly routerId: string;
}

/**
 * buildStartBgpRequest renders StartBgp with listen_port -1: gobgpd opens no BGP listener, every session is
 * outbound (the node's port 179 stays free, e.g. for FRR's bfdd neighbour or another daemon).
 */
export function buildStartBgpRequest(global: GlobalSpec): StartBgpRequest {
  checkInteger(global.asn, 1, 0xffffffff, 'asn', 'global BGP configuration');
  const routerId = parseIPAddress(global.routerId);
  if (routerId.family !== 'ipv4')
    throw new TypeError(`Invalid router ID "${global.routerId}": must be an IPv4 address`);
  return { global: { asn: global.asn, router_id: formatIPAddress(routerId), listen_port: -1 } };
}
