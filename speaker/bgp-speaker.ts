// The BGP side of the speaker (issue 5): peers from BGPPeer objects for this node, paths for the Services this
// node advertises (ETP Cluster: every eligible node; Local: nodes with a local endpoint), through gobgpd.
// It is the BGP Announcer: the speaker (speaker/app.ts) calls startBgpSpeaker once, plan() and apply() on every
// change (event-driven, so a withdrawal follows the EndpointSlice update within milliseconds) and stop() on
// SIGTERM.
//
// The decisions are pure (src/announce/bgpplan.ts); this file converges gobgpd on them: one converge at a time
// (a mutex shared with the sidecar's onReady), so a gobgpd restart and a replan never interleave their calls.
// Paths are added before stale ones are deleted, and deleted by uuid only (src/bgp/plan.ts).
import * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SpeakerSnapshot } from '../src/announce/snapshot.ts';
import type { Announcer } from './announcer.ts';
import { planBgp, type BgpPlan, type PlannedPeer } from '../src/announce/bgpplan.ts';
import { planAdoption, planPaths } from '../src/bgp/plan.ts';
import { buildExportAssignment, buildExportPolicy, changedExclusions } from '../src/bgp/policy.ts';
import { planGracefulStop, type NodeState } from '../src/bgp/graceful.ts';
import { GRACEFUL_RESTART_TIME, type GlobalSpec, type PeerSpec } from '../src/bgp/peer.ts';
import { formatPrefix } from '../src/bgp/prefix.ts';
import type { PathUuid } from '../src/bgp/uuid.ts';
import type { PeerEvent } from '../src/bgp/status.ts';
import type { Recorder } from '../edge/events.ts';
import { errorMessage } from '../edge/informer.ts';
import { realClock, sleep, type Clock, type Timer } from '../edge/clock.ts';
import type { Logger } from '../edge/log.ts';
import { DONE, WorkQueue, type ReconcileResult } from '../edge/workqueue.ts';
import { bgpReadiness } from '../src/bgp/readiness.ts';
import { GobgpCallError, isPathGone, type GobgpClient } from './bgp/gobgp.ts';
import type { SeriesSet } from './metrics.ts';
import { GobgpSidecar, type GobgpReady } from './bgp/sidecar.ts';
import { BGP_STATUS, NodeStatusObjects } from './status-objects.ts';
import { BfddResponder, type BfdPeerConfig } from './bfd/bfdd.ts';

/** BgpInputs is what every BGP plan depends on: the speaker's snapshot. */
export type BgpInputs = SpeakerSnapshot;

/** BgpSpeakerContext is what main.ts hands over at start. */
export interface BgpSpeakerContext {
  self: string;
  namespace: string;
  kc: k8s.KubeConfig;
  log: Logger;
  registry: Registry;
  recorder: Recorder;
  /** gobgpApi: gobgpd's gRPC target; spawn: start gobgpd as a child (false when it is a sidecar container). */
  gobgpApi: string;
  spawn: boolean;
  /** bfdDir: where the BFD responder (bfdd) keeps its sockets; default a directory per node and netns. */
  bfdDir?: string;
  /** ignoreExcludeLabel: do not honour node.kubernetes.io/exclude-from-external-load-balancers. */
  ignoreExcludeLabel?: boolean;
  /** announced: the BGP series of metallb_speaker_announced (protocol "bgp"). */
  announced?: SeriesSet<'node' | 'protocol' | 'service' | 'ip'>;
  /** clock: retries, counter polls and the pause before gobgpd stops (default: the wall clock). */
  clock?: Clock;
}

/**
 * GRACEFUL_STOP_WAIT_MS: how long a stopping speaker that keeps its paths waits for its gobgpd container to go
 * (deploy/speaker.yaml: 3 s after the pod's deletion), within the pod's 15 s grace period.
 */
const GRACEFUL_STOP_WAIT_MS = 8_000;

/** NODE_READ_TIMEOUT_MS bounds the read of this Node on stop (whether the node is leaving). */
const NODE_READ_TIMEOUT_MS = 2_000;

/** CONVERGE_BACKOFF: a failed converge is retried after 0.5 s, doubling up to 30 s. */
const CONVERGE_BACKOFF = { baseMs: 500, capMs: 30_000, jitter: 0.1 };

/**
 * BgpSpeaker is the running BGP side, the BGP Announcer: plan is planBgp on the snapshot, apply converges
 * peers and paths on it (cheap when nothing changed), stop withdraws this node's paths (or, with graceful
 * restart on every session and the node staying, leaves them to the routers: planGracefulStop) and stops
 * gobgpd if it was spawned.
 */
export type BgpSpeaker = Announcer<BgpPlan>;

/**
 * startBgpSpeaker starts the BGP side. gobgpd itself starts only once a BGPPeer selects this node (an L2-only
 * cluster never runs it); from then on it is supervised by GobgpSidecar and re-configured after every restart.
 */
export async function startBgpSpeaker(ctx: BgpSpeakerContext): Promise<BgpSpeaker | undefined> {
  const speaker = new GobgpSpeaker(ctx);
  await speaker.init();
  return speaker;
}

/** Applied is what we believe gobgpd holds. */
interface Applied {
  global?: GlobalSpec;
  /** peers: address → fingerprint (spec with the password hashed) and BGPPeer name. */
  peers: Map<string, { fingerprint: string; name: string }>;
  /** paths: path key → uuid. */
  paths: Map<string, PathUuid>;
  /**
   * policy: the export policy installed for BGPAdvertisement.peers (undefined: none ever needed); assigned: it
   * is attached to the global export.
   */
  policy?: { fingerprint: string; exclusions: ReadonlyMap<string, string>; assigned: boolean };
}

function peerFingerprint(spec: PeerSpec): string {
  const { password, ...rest } = spec;
  const hashed =
    password === undefined ? '' : createHash('sha256').update(`ironlb#${password}`).digest('hex');
  return JSON.stringify({ ...rest, password: hashed });
}

function sameGlobal(a: GlobalSpec | undefined, b: GlobalSpec | undefined): boolean {
  return a?.asn === b?.asn && a?.routerId === b?.routerId;
}

/** netnsId names this process's network namespace (its inode), so two lab nodes never share a BFD directory. */
function netnsId(): string {
  try {
    return readlinkSync('/proc/self/ns/net').replace(/[^0-9]/g, '');
  } catch {
    return 'host';
  }
}

class GobgpSpeaker implements BgpSpeaker {
  readonly #ctx: BgpSpeakerContext;
  readonly #log: Logger;
  readonly #status: NodeStatusObjects;
  readonly #bfd: BfddResponder;
  readonly #metrics: {
    sessionUp: Gauge;
    prefixes: Gauge;
    updates: Counter;
  };
  #sidecar: GobgpSidecar | undefined;
  #sidecarStarting: Promise<void> | undefined;
  #applied: Applied = { peers: new Map(), paths: new Map() };
  #plan: BgpPlan | undefined;
  #addresses: { v4?: string; v6?: string } = {};
  #lock: Promise<void> = Promise.resolve();
  readonly #clock: Clock;
  /** #queue converges gobgpd on the latest plan: one key, one worker, retried with backoff on failure. */
  readonly #queue: WorkQueue;
  readonly #running: Promise<void>;
  #stopping = false;
  #announced = new Set<string>();
  #sessions = new Map<string, string>();
  #updatesSeen = new Map<string, number>();
  #pollTimer: Timer | undefined;
  #problemsLogged = '';
  readonly #startedAt: number;
  #ready = false;

  constructor(ctx: BgpSpeakerContext) {
    this.#ctx = ctx;
    this.#log = ctx.log.child({ component: 'bgp' });
    this.#clock = ctx.clock ?? realClock;
    this.#startedAt = this.#clock.now();
    this.#queue = new WorkQueue({
      clock: this.#clock,
      backoff: CONVERGE_BACKOFF,
      onError: (_key, e) => {
        const unavailable = e instanceof GobgpCallError && e.unavailable;
        // gobgpd gone: the sidecar re-runs onReady (a full converge) when it is back; otherwise retry
        this.#log[unavailable ? 'debug' : 'warn']({ err: errorMessage(e) }, 'BGP converge failed; retrying');
      },
    });
    this.#running = this.#queue.run(() => this.#reconcile());
    this.#status = new NodeStatusObjects(ctx.kc, BGP_STATUS, {
      namespace: ctx.namespace,
      node: ctx.self,
      log: this.#log,
      clock: this.#clock,
    });
    this.#bfd = new BfddResponder({
      dir: ctx.bfdDir ?? join(tmpdir(), `ironlb-bfdd-${ctx.self}-${netnsId()}`),
      log: this.#log.child({ component: 'bfd' }),
      clock: this.#clock,
    });
    const registers = [ctx.registry];
    this.#metrics = {
      sessionUp: new Gauge({
        name: 'metallb_bgp_session_up',
        help: 'BGP session state (1 is up, 0 is down)',
        labelNames: ['peer'],
        registers,
      }),
      prefixes: new Gauge({
        name: 'metallb_bgp_announced_prefixes_total',
        help: 'Number of prefixes currently being advertised on the BGP session',
        labelNames: ['peer'],
        registers,
      }),
      updates: new Counter({
        name: 'metallb_bgp_updates_total',
        help: 'Number of BGP UPDATE messages sent',
        labelNames: ['peer'],
        registers,
      }),
    };
  }

  /** init learns the node's addresses (router ID, BFD source); the Node object first, local interfaces second. */
  async init(): Promise<void> {
    const core = this.#ctx.kc.makeApiClient(k8s.CoreV1Api);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const node = await core.readNode({ name: this.#ctx.self });
        for (const a of node.status?.addresses ?? []) {
          if (a.type !== 'InternalIP') continue;
          if (a.address.includes(':')) this.#addresses.v6 ??= a.address;
          else this.#addresses.v4 ??= a.address;
        }
        break;
      } catch (e) {
        this.#log.warn({ err: errorMessage(e), attempt }, 'cannot read this Node for its addresses');
        await sleep(this.#clock, 500 * (attempt + 1));
      }
    }
    if (this.#addresses.v4 === undefined) {
      const local = Object.values(networkInterfaces())
        .flat()
        .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
      if (local) this.#addresses.v4 = local.address;
    }
    if (this.#ctx.bfdDir === undefined) {
      const removed = BfddResponder.sweep(tmpdir(), 'ironlb-bfdd-');
      if (removed.length > 0) this.#log.info({ removed }, 'removed BFD directories of killed speakers');
    }
    this.#log.info({ addresses: this.#addresses }, 'BGP speaker ready');
  }

  readonly protocol = 'bgp';

  /**
   * ready is true once every BGP session of the plan is established (gobgpd then sends this node's paths, or
   * has sent them: the router has them again), or when the plan has none, or READY_WAIT_MS after start. It
   * stays true afterwards: readiness paces a rollout; a router going away later is not this pod's failure.
   */
  ready(): boolean {
    if (this.#ready) return true;
    const plan = this.#plan;
    if (plan === undefined) return false;
    const waitedMs = this.#clock.now() - this.#startedAt;
    const r = bgpReadiness(
      plan.peers.map((p) => ({ name: p.name, state: this.#sessions.get(p.spec.address) })),
      waitedMs,
    );
    if (!r.ready) return false;
    if (r.reason === 'waitedTooLong')
      this.#log.warn({ peers: r.waiting, waitedMs }, 'BGP sessions not established; reporting ready anyway');
    this.#ready = true;
    return true;
  }

  plan(inputs: BgpInputs): BgpPlan {
    return planBgp({
      self: this.#ctx.self,
      services: inputs.services,
      nodes: inputs.nodes,
      alive: inputs.alive,
      config: inputs.config,
      ...(this.#addresses.v4 !== undefined ? { routerId: this.#addresses.v4 } : {}),
      ...(this.#ctx.ignoreExcludeLabel ? { ignoreExcludeLabel: true } : {}),
    });
  }

  apply(plan: BgpPlan): void {
    if (this.#stopping) return;
    this.#plan = plan;
    this.#reportProblems(plan);
    this.#kick();
  }

  #reportProblems(plan: BgpPlan): void {
    const text = JSON.stringify([plan.problems, plan.skippedPeers]);
    if (text === this.#problemsLogged) return;
    this.#problemsLogged = text;
    for (const p of plan.problems) this.#log.warn({ problem: p }, 'BGP cannot run as configured');
    for (const s of plan.skippedPeers)
      this.#log.warn({ peer: s.name, reason: s.reason, message: s.message }, 'BGPPeer skipped on this node');
  }

  #kick(): void {
    this.#queue.add('converge');
  }

  /** #reconcile converges BFD, gobgpd's peers and its paths on the latest plan; throws to be retried. */
  async #reconcile(): Promise<ReconcileResult> {
    const plan = this.#plan;
    if (!plan || this.#stopping) return DONE;
    // BFD first and on its own: it does not depend on gobgpd, and never throws
    await this.#convergeBfd(plan);
    await this.#ensureSidecar(plan);
    await this.#exclusive(() => this.#converge(plan));
    this.#afterApply(plan);
    return DONE;
  }

  /** exclusive runs fn after every earlier gobgpd-changing task. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#lock.then(fn);
    this.#lock = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  async #ensureSidecar(plan: BgpPlan): Promise<void> {
    if (this.#sidecar || plan.global === undefined) return;
    this.#sidecarStarting ??= (async () => {
      const sidecar = new GobgpSidecar({
        apiTarget: this.#ctx.gobgpApi,
        spawn: this.#ctx.spawn ? {} : false,
        logger: this.#log.child({ component: 'gobgpd' }),
        clock: this.#clock,
        onReady: (ready) => this.#exclusive(() => this.#onReady(ready)),
        onPeerEvent: (event) => this.#onPeerEvent(event),
        onDown: (reason) => {
          this.#log.warn({ reason }, 'gobgpd is not answering; paths are re-created when it is back');
          for (const peer of this.#sessions.keys()) this.#metrics.sessionUp.set({ peer }, 0);
        },
      });
      await sidecar.start();
      this.#sidecar = sidecar;
      const poll = () => {
        void this.#pollCounters();
        this.#pollTimer = this.#clock.setTimeout(poll, 5_000);
      };
      this.#pollTimer = this.#clock.setTimeout(poll, 5_000);
    })().finally(() => (this.#sidecarStarting = undefined));
    await this.#sidecarStarting;
  }

  async #onReady(ready: GobgpReady): Promise<void> {
    const plan = this.#plan;
    this.#log.info({ generation: ready.generation, fresh: ready.fresh }, 'configuring gobgpd');
    if (ready.fresh) {
      this.#applied = { peers: new Map(), paths: new Map() };
    } else {
      await this.#adopt(ready.client, plan);
    }
    if (plan) await this.#converge(plan, ready.client);
  }

  /** adopt takes over a gobgpd that outlived an earlier speaker: its global, peers and paths stay in place. */
  async #adopt(client: GobgpClient, plan: BgpPlan | undefined): Promise<void> {
    const global = await client.getBgp();
    this.#applied = {
      global: { asn: global.asn, routerId: global.routerId },
      peers: new Map(),
      paths: new Map(),
      // whatever policy it holds is replaced at the next converge
      policy: { fingerprint: '?', exclusions: new Map(), assigned: false },
    };
    const desiredPeers = new Map((plan?.peers ?? []).map((p) => [p.spec.address, p]));
    for (const status of await client.listPeers()) {
      const want = desiredPeers.get(status.address);
      // an adopted session is assumed to match its BGPPeer (gobgpd does not return the password to compare)
      this.#applied.peers.set(status.address, {
        fingerprint: want ? peerFingerprint(want.spec) : '?',
        name: want?.name ?? '?',
      });
    }
    if (!sameGlobal(this.#applied.global, plan?.global)) return; // converge restarts it all anyway
    const adoption = planAdoption(
      await client.listLocalPaths(),
      (plan?.paths ?? []).map((p) => p.spec),
    );
    for (const { key, spec } of adoption.add) this.#applied.paths.set(key, await client.addPath(spec));
    for (const { spec } of adoption.orphans) await client.deletePath(await client.addPath(spec));
    this.#log.info(
      { peers: this.#applied.peers.size, paths: adoption.add.length, orphans: adoption.orphans.length },
      'adopted a running gobgpd',
    );
  }

  /** converge makes gobgpd hold exactly the plan: global settings, peers, then paths (add, then delete). */
  async #converge(plan: BgpPlan, client = this.#sidecar?.client): Promise<void> {
    if (!client) return;
    const applied = this.#applied;
    if (plan.global !== undefined && !sameGlobal(applied.global, plan.global)) {
      if (applied.global !== undefined) {
        this.#log.info(
          { from: applied.global, to: plan.global },
          'BGP router ID or ASN changed: restarting BGP',
        );
        await client.stopBgp();
      }
      applied.peers.clear();
      applied.paths.clear();
      delete applied.policy;
      await client.startBgp(plan.global);
      applied.global = plan.global;
    }
    if (applied.global === undefined) return;
    const desired = new Map(plan.peers.map((p) => [p.spec.address, p]));
    for (const [address, have] of [...applied.peers]) {
      const want = desired.get(address);
      if (want && peerFingerprint(want.spec) === have.fingerprint) continue;
      await client.deletePeer(address).catch((e: unknown) => {
        if (!/not found|can't find/i.test(errorMessage(e))) throw e;
      });
      applied.peers.delete(address);
      this.#sessions.delete(address);
      this.#metrics.sessionUp.remove({ peer: address });
      this.#metrics.prefixes.remove({ peer: address });
      this.#log.info({ peer: have.name, address }, 'BGP peer removed');
    }
    const failed: string[] = [];
    for (const [address, want] of desired) {
      if (applied.peers.has(address)) continue;
      try {
        await this.#addPeer(client, want);
      } catch (e) {
        // one bad BGPPeer must not keep the others (or the paths) from converging
        if (e instanceof GobgpCallError && e.unavailable) throw e;
        failed.push(`BGPPeer "${want.name}": ${errorMessage(e)}`);
        continue;
      }
      applied.peers.set(address, { fingerprint: peerFingerprint(want.spec), name: want.name });
    }
    const resetPeers = await this.#convergePolicy(client, plan);
    const pathPlan = planPaths(
      applied.paths,
      plan.paths.map((p) => p.spec),
    );
    for (const { key, spec } of pathPlan.add) {
      applied.paths.set(key, await client.addPath(spec));
      this.#log.debug({ prefix: formatPrefix(spec.prefix), key }, 'path added');
    }
    for (const { key, uuid } of pathPlan.delete) {
      try {
        await client.deletePath(uuid);
      } catch (e) {
        if (!isPathGone(e)) throw e;
      }
      applied.paths.delete(key);
      this.#log.debug({ key }, 'path withdrawn');
    }
    for (const { key } of pathPlan.superseded) applied.paths.delete(key);
    if (resetPeers) {
      for (const address of applied.peers.keys()) {
        // a session that is not up has nothing to re-evaluate; it gets the policy when it comes up
        await client.softResetOut(address).catch((e: unknown) => {
          if (e instanceof GobgpCallError && e.unavailable) throw e;
          this.#log.debug({ peer: address, err: errorMessage(e) }, 'soft reset skipped');
        });
      }
    }
    if (failed.length > 0) throw new Error(`Cannot add BGP peers: ${failed.join('; ')}`);
  }

  /**
   * convergePolicy installs the export policy that keeps each prefix from the peers its advertisements do not
   * name (BGPAdvertisement.peers). Nothing is installed while no advertisement restricts peers. gobgpd 3.10
   * never withdraws an already-sent path when a policy change starts rejecting it (neither a soft reset out
   * nor a re-add does: the old path is judged by the new policy too), so a prefix that some peer must lose is
   * withdrawn (by uuid) before the policy changes and re-added after it (planPaths sees it missing); a prefix
   * that only gains peers is sent by a soft reset out. Returns whether that soft reset is needed.
   */
  async #convergePolicy(client: GobgpClient, plan: BgpPlan): Promise<boolean> {
    const applied = this.#applied;
    const addressOf = new Map(plan.peers.map((p) => [p.name, p.spec.address]));
    const policy = buildExportPolicy(
      plan.paths.map((p) => ({
        prefix: p.spec.prefix,
        peers: p.peers.flatMap((name) => addressOf.get(name) ?? []),
      })),
      plan.peers.map((p) => ({ address: p.spec.address })),
    );
    const fingerprint = JSON.stringify(policy.request);
    if (fingerprint === applied.policy?.fingerprint) return false;
    if (applied.policy === undefined && policy.exclusions.size === 0) return false;
    const before = applied.policy?.exclusions ?? new Map<string, string>();
    const changed = changedExclusions(before, policy.exclusions);
    const split = (key: string | undefined) => new Set(key ? key.split(',') : []);
    let gained = false;
    for (const prefix of changed) {
      const was = split(before.get(prefix));
      const lost = [...split(policy.exclusions.get(prefix))].some((a) => !was.has(a));
      for (const [key, uuid] of [...applied.paths]) {
        if (key.slice(0, key.indexOf(' ')) !== prefix) continue;
        if (!lost) {
          gained = true;
          continue;
        }
        try {
          await client.deletePath(uuid);
        } catch (e) {
          if (!isPathGone(e)) throw e;
        }
        applied.paths.delete(key); // re-added below, under the new policy
      }
    }
    await client.setPolicies(policy.request);
    let assigned = applied.policy?.assigned === true;
    if (!assigned && policy.exclusions.size > 0) {
      await client.addPolicyAssignment(buildExportAssignment()).catch((e: unknown) => {
        // an adopted gobgpd may have it already
        if (!/already|exist/i.test(errorMessage(e))) throw e;
      });
      assigned = true;
    }
    applied.policy = { fingerprint, exclusions: policy.exclusions, assigned };
    this.#log.info(
      { restrictedPrefixes: policy.exclusions.size, changed: changed.length },
      'export policy for BGPAdvertisement peers updated',
    );
    return gained;
  }

  async #addPeer(client: GobgpClient, peer: PlannedPeer): Promise<void> {
    await client.addPeer(peer.spec);
    this.#log.info(
      {
        peer: peer.name,
        address: peer.spec.address,
        peerASN: peer.spec.peerASN,
        myASN: peer.spec.myASN,
        holdTime: peer.spec.holdTime,
        hasPassword: peer.spec.password !== undefined, // whether one is set, never its value
        bfdProfile: peer.bfdProfile?.name,
      },
      'BGP peer added',
    );
    this.#sessions.set(peer.spec.address, 'UNKNOWN');
    this.#metrics.sessionUp.set({ peer: peer.spec.address }, 0);
  }

  async #convergeBfd(plan: BgpPlan): Promise<void> {
    const peers: BfdPeerConfig[] = [];
    for (const p of plan.peers) {
      if (!p.bfdProfile) continue;
      const local = p.spec.sourceAddress ?? (p.family === 'ipv4' ? this.#addresses.v4 : this.#addresses.v6);
      peers.push({
        peer: p.spec.address,
        multihop: p.spec.ebgpMultiHop === true,
        profile: p.bfdProfile,
        ...(local !== undefined ? { local } : {}),
      });
    }
    if (peers.length > 0 && !BfddResponder.available()) {
      this.#log.warn({}, 'a BGPPeer names a BFDProfile but FRR bfdd is not installed: no BFD');
      return;
    }
    try {
      await this.#bfd.apply(peers);
    } catch (e) {
      // BFD failing must not stop BGP: the sessions still work, only slower to fail
      this.#log.warn({ err: errorMessage(e) }, 'BFD responder configuration failed');
    }
  }

  #afterApply(plan: BgpPlan): void {
    const announced = new Set<string>();
    const entries: { key: string; peers: string[] }[] = [];
    for (const s of plan.services) {
      if (!s.decision.announce) continue;
      announced.add(s.key);
      entries.push({ key: s.key, peers: s.decision.peers });
      if (!this.#announced.has(s.key)) {
        this.#log.info({ service: s.key, ips: s.ips, peers: s.decision.peers }, 'advertising over BGP');
        const slash = s.key.indexOf('/');
        this.#ctx.recorder.event(
          {
            kind: 'Service',
            apiVersion: 'v1',
            namespace: s.key.slice(0, slash),
            name: s.key.slice(slash + 1),
          },
          'Normal',
          'nodeAssigned',
          `announcing from node "${this.#ctx.self}" with protocol "bgp"`,
        );
      }
    }
    for (const key of this.#announced) {
      if (announced.has(key)) continue;
      const why = plan.services.find((s) => s.key === key)?.decision;
      this.#log.info(
        { service: key, reason: why && !why.announce ? why.reason : 'serviceGone' },
        'stopped advertising over BGP',
      );
    }
    this.#announced = announced;
    this.#ctx.announced?.replace(
      plan.services
        .filter((s) => s.decision.announce)
        .flatMap((s) => s.ips.map((ip) => ({ node: this.#ctx.self, protocol: 'bgp', service: s.key, ip }))),
    );
    this.#status.sync(entries.map((e) => ({ key: e.key, detail: { peers: [...e.peers].sort() } })));
    const byPeer = new Map(plan.peers.map((p) => [p.name, p.spec.address]));
    const counts = new Map<string, number>(plan.peers.map((p) => [p.spec.address, 0]));
    for (const path of plan.paths) {
      for (const name of path.peers) {
        const address = byPeer.get(name);
        if (address !== undefined) counts.set(address, (counts.get(address) ?? 0) + 1);
      }
    }
    for (const [peer, n] of counts) this.#metrics.prefixes.set({ peer }, n);
    // the UPDATEs for this change go out within a moment; count them then rather than at the next poll
    this.#clock.setTimeout(() => void this.#pollCounters(), 1_000);
  }

  #onPeerEvent(event: PeerEvent): void {
    const peer = event.peer;
    if (!peer || peer.address === '') return;
    const before = this.#sessions.get(peer.address);
    this.#sessions.set(peer.address, peer.sessionState);
    this.#metrics.sessionUp.set({ peer: peer.address }, peer.sessionState === 'ESTABLISHED' ? 1 : 0);
    if (before !== peer.sessionState && (before === 'ESTABLISHED' || peer.sessionState === 'ESTABLISHED')) {
      this.#log.info({ peer: peer.address, state: peer.sessionState }, 'BGP session state changed');
    }
  }

  async #pollCounters(): Promise<void> {
    const client = this.#sidecar?.client;
    if (!client) return;
    try {
      for (const m of await client.listPeerMessages()) {
        const seen = this.#updatesSeen.get(m.address) ?? 0;
        // a restarted gobgpd (or a re-added peer) counts from zero again
        const delta = m.updatesSent >= seen ? m.updatesSent - seen : m.updatesSent;
        if (delta > 0) this.#metrics.updates.inc({ peer: m.address }, delta);
        this.#updatesSeen.set(m.address, m.updatesSent);
      }
    } catch {
      /* gobgpd restarting: the next poll catches up */
    }
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#bfd.retire();
    this.#pollTimer?.cancel();
    this.#queue.shutDown();
    await this.#running.catch(() => undefined);
    await this.#sidecarStarting?.catch(() => undefined);
    const sidecar = this.#sidecar;
    if (sidecar) {
      const decision =
        this.#applied.paths.size > 0
          ? planGracefulStop(
              (this.#plan?.peers ?? []).map((p) => p.spec),
              await this.#nodeState(),
            )
          : undefined;
      if (decision?.keep) await this.#stopKeepingPaths(sidecar, decision.reason);
      else await this.#stopWithdrawing(sidecar, decision?.reason);
    }
    await this.#bfd.stop();
    await this.#status.removeAll().catch(() => undefined);
  }

  /** stopWithdrawing withdraws every path, so the routers move traffic away before the sessions close. */
  async #stopWithdrawing(sidecar: GobgpSidecar, reason: string | undefined): Promise<void> {
    await this.#exclusive(async () => {
      const n = this.#applied.paths.size;
      for (const [key, uuid] of this.#applied.paths) {
        await sidecar.client.deletePath(uuid).catch(() => undefined);
        this.#applied.paths.delete(key);
      }
      this.#log.info({ paths: n, reason }, 'withdrew every path before stopping');
    }).catch((e: unknown) => this.#log.warn({ err: errorMessage(e) }, 'withdrawal failed'));
    await sleep(this.#clock, 200); // let gobgpd send the withdrawals before the sessions close
    await sidecar.stop();
  }

  /**
   * stopKeepingPaths leaves the paths to the routers' graceful restart (src/bgp/graceful.ts): the sessions must
   * close without a NOTIFICATION. A gobgpd spawned here is killed; one in its own container is killed by that
   * container's stop (deploy/speaker.yaml), and this speaker waits for it, so its BFD responder still answers
   * until the sessions are gone (a BFD session failing first would end them the hard way).
   */
  async #stopKeepingPaths(sidecar: GobgpSidecar, reason: string): Promise<void> {
    this.#log.info(
      { paths: this.#applied.paths.size, reason, restartTimeSeconds: GRACEFUL_RESTART_TIME },
      'keeping paths for graceful restart: the routers hold them until the next speaker announces them',
    );
    if (this.#ctx.spawn) {
      await sidecar.stop({ kill: true });
      return;
    }
    const down = await sidecar.untilDown(GRACEFUL_STOP_WAIT_MS);
    if (!down) this.#log.warn({ waitedMs: GRACEFUL_STOP_WAIT_MS }, 'gobgpd still running; stopping anyway');
    await sidecar.stop();
  }

  /** nodeState reads this node's Node for the stop decision; undefined when the API server does not answer soon. */
  async #nodeState(): Promise<NodeState | undefined> {
    const core = this.#ctx.kc.makeApiClient(k8s.CoreV1Api);
    const read = core.readNode({ name: this.#ctx.self }).then(
      (node) => ({
        unschedulable: node.spec?.unschedulable === true,
        ready: node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
        deleting: node.metadata?.deletionTimestamp !== undefined,
      }),
      (e: unknown) => {
        this.#log.warn({ err: errorMessage(e) }, 'cannot read this Node before stopping');
        return undefined;
      },
    );
    const cancel = new AbortController();
    const timeout = sleep(this.#clock, NODE_READ_TIMEOUT_MS, cancel.signal).then(
      () => undefined,
      () => undefined, // cancelled: the read answered first
    );
    try {
      return await Promise.race([read, timeout]);
    } finally {
      cancel.abort();
    }
  }
}
