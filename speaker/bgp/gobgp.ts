// The gRPC edge to gobgpd (GoBGP v3). Requests are built by the pure core (src/bgp) as protobuf-JSON objects;
// this file only loads the protos, sends, and decodes.
//
// google.protobuf.Any: src/bgp writes Anys as `{"@type": "type.googleapis.com/apipb.X", ...}`. protobufjs (under
// @grpc/proto-loader) has a built-in wrapper for google.protobuf.Any whose fromObject looks the @type up in the
// loaded Root and encodes the inner message into {type_url, value}; `json: true` does the reverse on replies.
// The catch: gobgp.proto does not import attribute.proto (its Anys are opaque), so we must load attribute.proto
// and capability.proto into the same Root, or the lookup fails and protobufjs silently sends an EMPTY Any.
// assertKnownAnyTypes turns any such miss into an error before a byte is sent.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { API_FAMILY, anyTypeName } from '../../src/bgp/api.ts';
import { buildAddPathRequest, buildDeletePathRequest, type PathSpec } from '../../src/bgp/path.ts';
import {
  buildAddPeerRequest,
  buildDeletePeerRequest,
  buildStartBgpRequest,
  type GlobalSpec,
  type PeerSpec,
} from '../../src/bgp/peer.ts';
import type { AddPolicyAssignmentRequest, SetPoliciesRequest } from '../../src/bgp/policy.ts';
import type { AddressFamily } from '../../src/bgp/prefix.ts';
import {
  localPathsFromList,
  pathFromApi,
  peerEventFromApi,
  peerStatusFromApi,
  type ListedPath,
  type PeerEvent,
  type PeerStatus,
} from '../../src/bgp/status.ts';
import { pathUuidFromBytes, type PathUuid } from '../../src/bgp/uuid.ts';

/** GOBGP_PROTO_DIR is where Debian's golang-github-osrg-gobgp-dev installs gobgp.proto and attribute.proto. */
export const GOBGP_PROTO_DIR = '/usr/share/gocode/src/github.com/osrg/gobgp/api';

/** DEFAULT_GOBGP_API_TARGET is gobgpd's gRPC address in the speaker pod (hostNetwork, loopback only). */
export const DEFAULT_GOBGP_API_TARGET = '127.0.0.1:50051';

const PROTO_FILES = ['gobgp.proto', 'attribute.proto', 'capability.proto'];
const SERVICE = 'apipb.GobgpApi';
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  json: true,
};

/** GobgpClientOptions tune the client; every field has a default. */
export interface GobgpClientOptions {
  /** protoDir: folder holding gobgp.proto, attribute.proto, capability.proto; default GOBGP_PROTO_DIR. */
  readonly protoDir?: string;
  /** callTimeoutMs: deadline of each unary call and listing; default 10 000. */
  readonly callTimeoutMs?: number;
}

/**
 * GobgpCallError is a failed gobgpd call: `method` and the gRPC `status`. `unavailable` is true when gobgpd is
 * not answering (not started yet, restarting, gone) — the caller's cue to wait for the sidecar, not to retry
 * the same call in a loop.
 */
export class GobgpCallError extends Error {
  readonly code = 'GOBGP_CALL_FAILED';
  readonly method: string;
  readonly status: grpc.status;
  readonly unavailable: boolean;

  constructor(method: string, subject: string, error: grpc.ServiceError) {
    super(`gobgpd ${method} failed for ${subject}: ${error.details || error.message}`, { cause: error });
    this.name = 'GobgpCallError';
    this.method = method;
    this.status = error.code;
    this.unavailable = error.code === grpc.status.UNAVAILABLE || error.code === grpc.status.DEADLINE_EXCEEDED;
  }
}

/** PeerMessages are one neighbor's BGP message counters since its session was configured (ListPeer). */
export interface PeerMessages {
  readonly address: string;
  /** updatesSent: UPDATE messages sent to the peer (announcements and withdrawals). */
  readonly updatesSent: number;
  readonly updatesReceived: number;
}

/** GobgpGlobal is GetBgp's answer; asn 0 means StartBgp has not been called on this gobgpd process. */
export interface GobgpGlobal {
  readonly asn: number;
  readonly routerId: string;
  readonly listenPort: number;
}

/** PeerWatch is a running WatchEvent stream; `ended` settles when the stream ends, for whatever reason. */
export interface PeerWatch {
  readonly ended: Promise<{ readonly status: grpc.status; readonly details: string }>;
  cancel(): void;
}

interface Method {
  readonly path: string;
  readonly requestSerialize: (value: object) => Buffer;
  readonly responseDeserialize: (value: Buffer) => unknown;
}

type Obj = Readonly<Record<string, unknown>>;

function isMethod(value: unknown): value is Method {
  return typeof value === 'object' && value !== null && 'path' in value && 'requestSerialize' in value;
}

/** loadGobgpPackage loads the three GoBGP protos into one package definition (see the file comment for why three). */
export function loadGobgpPackage(protoDir: string = GOBGP_PROTO_DIR): protoLoader.PackageDefinition {
  try {
    return protoLoader.loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [protoDir] });
  } catch (error) {
    throw new Error(`Cannot load GoBGP protos from "${protoDir}": ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * assertKnownAnyTypes throws a TypeError when a request holds an Any whose @type is not an apipb message of the
 * loaded package (protobufjs would otherwise encode it as an empty Any and gobgpd would reject or misread it).
 */
export function assertKnownAnyTypes(
  pkg: protoLoader.PackageDefinition,
  request: unknown,
  where = 'request',
): void {
  if (Array.isArray(request)) {
    request.forEach((item, i) => assertKnownAnyTypes(pkg, item, `${where}[${i}]`));
    return;
  }
  if (typeof request !== 'object' || request === null || request instanceof Uint8Array) return;
  const type = (request as Obj)['@type'];
  if (type !== undefined) {
    const name = anyTypeName(request);
    if (name === undefined || !(`apipb.${name}` in pkg)) {
      throw new TypeError(`Cannot encode ${where}: unknown Any type ${JSON.stringify(type)}`);
    }
  }
  for (const [key, value] of Object.entries(request)) assertKnownAnyTypes(pkg, value, `${where}.${key}`);
}

/**
 * GobgpClient wraps gobgpd's gRPC API in promises. It keeps one channel (grpc-js reconnects on its own, with a
 * short backoff here so a restarted gobgpd is reached within a second or two). Methods take IronLB's own types
 * and build the requests with src/bgp; no method sends a password anywhere but AddPeer, and no error or log
 * line contains one.
 */
export class GobgpClient {
  /** target is the gRPC address: `host:port` or `unix:///path`. */
  readonly target: string;
  readonly #pkg: protoLoader.PackageDefinition;
  readonly #methods: Readonly<Record<string, Method>>;
  readonly #client: grpc.Client;
  readonly #timeoutMs: number;

  constructor(target: string = DEFAULT_GOBGP_API_TARGET, options: GobgpClientOptions = {}) {
    this.target = target;
    this.#pkg = loadGobgpPackage(options.protoDir);
    const service = this.#pkg[SERVICE];
    if (service === undefined) throw new Error(`Cannot find service ${SERVICE} in the GoBGP protos`);
    this.#methods = Object.fromEntries(Object.entries(service).filter(([, m]) => isMethod(m))) as Record<
      string,
      Method
    >;
    this.#timeoutMs = options.callTimeoutMs ?? 10_000;
    this.#client = new grpc.Client(target, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.min_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
    });
  }

  #method(name: string): Method {
    const method = this.#methods[name];
    if (method === undefined) throw new Error(`Cannot find gobgpd method ${SERVICE}/${name}`);
    return method;
  }

  #deadline(): Date {
    // wall time on purpose: gRPC deadlines are absolute Dates, compared with the wall clock by grpc-js
    return new Date(Date.now() + this.#timeoutMs);
  }

  #unary(name: string, subject: string, request: object): Promise<Obj> {
    assertKnownAnyTypes(this.#pkg, request);
    const method = this.#method(name);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: this.#deadline() },
        (error, response) => {
          if (error) reject(new GobgpCallError(name, subject, error));
          else resolve(typeof response === 'object' && response !== null ? (response as Obj) : {});
        },
      );
    });
  }

  #collect(name: string, subject: string, request: object): Promise<Obj[]> {
    const method = this.#method(name);
    return new Promise((resolve, reject) => {
      const items: Obj[] = [];
      const stream = this.#client.makeServerStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: this.#deadline() },
      );
      stream.on('data', (item: Obj) => items.push(item));
      stream.on('error', (error: grpc.ServiceError) => reject(new GobgpCallError(name, subject, error)));
      stream.on('end', () => resolve(items));
    });
  }

  /** startBgp configures the global instance (ASN, router ID, no listener). Fails if already started. */
  async startBgp(global: GlobalSpec): Promise<void> {
    await this.#unary('StartBgp', `router-id "${global.routerId}"`, buildStartBgpRequest(global));
  }

  /** stopBgp stops the instance: every session closes and every path is dropped; gobgpd keeps running. */
  async stopBgp(): Promise<void> {
    await this.#unary('StopBgp', 'the global instance', {});
  }

  /** getBgp reads the global config; answers even before StartBgp (then asn is 0), so it doubles as a liveness probe. */
  async getBgp(): Promise<GobgpGlobal> {
    const global = (await this.#unary('GetBgp', 'the global instance', {}))['global'] as
      Obj | null | undefined;
    return {
      asn: Number(global?.['asn'] ?? 0),
      routerId: String(global?.['router_id'] ?? ''),
      listenPort: Number(global?.['listen_port'] ?? 0),
    };
  }

  /** addPeer adds a neighbor (buildAddPeerRequest); gobgpd starts connecting at once. */
  async addPeer(peer: PeerSpec): Promise<void> {
    await this.#unary('AddPeer', `peer "${peer.address}"`, buildAddPeerRequest(peer));
  }

  /** deletePeer removes a neighbor; its session closes with a CEASE notification. */
  async deletePeer(address: string): Promise<void> {
    await this.#unary('DeletePeer', `peer "${address}"`, buildDeletePeerRequest(address));
  }

  /** listPeers returns every neighbor's status (or one, by address); passwords are dropped while decoding. */
  async listPeers(address = ''): Promise<PeerStatus[]> {
    const items = await this.#collect('ListPeer', address === '' ? 'all peers' : `peer "${address}"`, {
      address,
    });
    return items.map((item) => peerStatusFromApi(item['peer']));
  }

  /** listPeerMessages returns every neighbor's UPDATE counters (ListPeer state.messages); nothing else is kept. */
  async listPeerMessages(): Promise<PeerMessages[]> {
    const items = await this.#collect('ListPeer', 'all peers', { address: '' });
    return items.map((item) => {
      const peer = (item['peer'] ?? {}) as Obj;
      const state = (peer['state'] ?? {}) as Obj;
      const conf = (peer['conf'] ?? {}) as Obj;
      const messages = (state['messages'] ?? {}) as Obj;
      const count = (side: string): number => Number(((messages[side] ?? {}) as Obj)['update'] ?? 0) || 0;
      return {
        address: String(state['neighbor_address'] || conf['neighbor_address'] || ''),
        updatesSent: count('sent'),
        updatesReceived: count('received'),
      };
    });
  }

  /** setPolicies replaces every defined set and policy (buildExportPolicy); assignments are kept by name. */
  async setPolicies(request: SetPoliciesRequest): Promise<void> {
    await this.#unary('SetPolicies', 'the export policy', request);
  }

  /** addPolicyAssignment attaches policies to a table (buildExportAssignment: the global export). */
  async addPolicyAssignment(request: AddPolicyAssignmentRequest): Promise<void> {
    await this.#unary('AddPolicyAssignment', `the ${request.assignment.name} policy assignment`, request);
  }

  /**
   * softResetOut re-evaluates the export policy for everything already sent to a peer: paths it now rejects are
   * withdrawn, paths it now accepts are sent (no session reset).
   */
  async softResetOut(address: string): Promise<void> {
    await this.#unary('ResetPeer', `peer "${address}"`, { address, soft: true, direction: 'OUT' });
  }

  /** addPath originates a path in the global table and returns the uuid to delete it by. */
  async addPath(spec: PathSpec): Promise<PathUuid> {
    const subject = `prefix "${spec.prefix.address}/${spec.prefix.length}"`;
    const response = await this.#unary('AddPath', subject, buildAddPathRequest(spec));
    const uuid = response['uuid'];
    if (!(uuid instanceof Uint8Array)) throw new Error(`gobgpd AddPath for ${subject} returned no uuid`);
    return pathUuidFromBytes(uuid);
  }

  /**
   * deletePath withdraws exactly the path with this uuid (buildDeletePathRequest refuses anything else).
   * gobgpd answers UNKNOWN "can't find a specified path" when it no longer has it (see isPathGone).
   */
  async deletePath(uuid: PathUuid): Promise<void> {
    await this.#unary('DeletePath', `path ${uuid}`, buildDeletePathRequest(uuid));
  }

  /** listPaths returns the global table's paths of one family, decoded (spec, best, local). */
  async listPaths(family: AddressFamily): Promise<ListedPath[]> {
    const destinations = await this.#listDestinations(family);
    return destinations.flatMap((d) => (Array.isArray(d['paths']) ? d['paths'].map(pathFromApi) : []));
  }

  /** listLocalPaths returns the paths gobgpd originates (ours, not learned from routers), both families (for planAdoption). */
  async listLocalPaths(): Promise<PathSpec[]> {
    const [v4, v6] = await Promise.all([this.#listDestinations('ipv4'), this.#listDestinations('ipv6')]);
    return localPathsFromList([...v4, ...v6]);
  }

  async #listDestinations(family: AddressFamily): Promise<Obj[]> {
    const request = { table_type: 'GLOBAL', family: API_FAMILY[family], sort_type: 'PREFIX' };
    const items = await this.#collect('ListPath', `the ${family} global table`, request);
    return items.map((item) => (item['destination'] ?? {}) as Obj);
  }

  /**
   * watchPeers streams peer events (an INIT per existing peer, END_OF_INIT, then STATE on every session change)
   * until cancel() or until gobgpd goes away; `ended` then settles with the gRPC status (CANCELLED after cancel,
   * UNAVAILABLE when gobgpd died).
   */
  watchPeers(onEvent: (event: PeerEvent) => void): PeerWatch {
    const method = this.#method('WatchEvent');
    const stream = this.#client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      { peer: {} },
      new grpc.Metadata(),
    );
    const ended = new Promise<{ status: grpc.status; details: string }>((resolve) => {
      stream.on('data', (response: unknown) => {
        const event = peerEventFromApi(response);
        if (event !== undefined) onEvent(event);
      });
      stream.on('error', (error: grpc.ServiceError) =>
        resolve({ status: error.code, details: error.details }),
      );
      stream.on('end', () => resolve({ status: grpc.status.OK, details: 'stream ended' }));
    });
    return { ended, cancel: () => stream.cancel() };
  }

  /** close releases the channel; later calls fail. */
  close(): void {
    this.#client.close();
  }
}

/** isPathGone reports whether a DeletePath failed only because gobgpd no longer has that path (already withdrawn or replaced). */
export function isPathGone(error: unknown): boolean {
  return (
    error instanceof GobgpCallError &&
    error.method === 'DeletePath' &&
    /can't find a specified path/.test(error.message)
  );
}
