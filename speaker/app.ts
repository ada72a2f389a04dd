// The speaker as an application: createSpeaker watches what the plans depend on, takes one snapshot of it
// (src/announce/snapshot.ts interprets Services, endpoints and Nodes), and has every announcer (L2, BGP) plan
// from that snapshot and apply its plan. Liveness comes from the other speakers directly (UDP heartbeats), so
// failover needs no API server. Time comes from the clock it is given: the pacing of plans, the wait before the first
// election, the resync and the handoff on stop. A starting speaker listens to the others first and joins them
// (its first heartbeat) only when it is ready to announce what it takes over.
import * as k8s from '@kubernetes/client-node';
import { sleep, type Timer } from '../edge/clock.ts';
import { EventRecorder } from '../edge/events.ts';
import { Informer, errorMessage, metallbInformer, serviceInformer } from '../edge/informer.ts';
import type { App, ProgramDeps } from '../edge/program.ts';
import type { ElectionMode } from '../src/election/election.ts';
import {
  nodeViews,
  peerAddresses,
  serviceViews,
  slimSpeakerService,
  type SpeakerSnapshot,
} from '../src/announce/snapshot.ts';
import type { Config } from '../src/config/model.ts';
import { nextPlanDelay, PLAN_PACING } from '../src/announce/pacing.ts';
import { parseConfig } from '../src/config/parse.ts';
import { keepPasswordOnly } from '../src/config/secret.ts';
import { CONFIG_RESOURCES } from '../src/contracts/resources.ts';
import { slimEndpointSlice } from '../src/service/endpoints.ts';
import type { Announcer } from './announcer.ts';
import { startBgpSpeaker, type BgpSpeakerContext } from './bgp-speaker.ts';
import { L2Announcer } from './l2-announcer.ts';
import { L2Protocol, type L2Wire, type L2WireHooks } from './l2-protocol.ts';
import { LivenessAgent, type DatagramTransport } from './liveness.ts';
import { SeriesSet, type SpeakerMetrics } from './metrics.ts';
import { ConflictConditions, L2_STATUS, NodeStatusObjects } from './status-objects.ts';

/** SpeakerOptions are the speaker's settings (from flags), plus what tests replace. */
export interface SpeakerOptions {
  self: string;
  namespace: string;
  lbClass?: string;
  mode: ElectionMode;
  ignoreExcludeLabel: boolean;
  handoffMs: number;
  liveness: {
    port: number;
    intervalMs: number;
    timeoutMs: number;
    key?: Buffer;
    transport?: DatagramTransport;
  };
  gobgp: { api: string; spawn: boolean };
  /** wire: the L2 wire (default: packet sockets on every eligible interface). */
  wire?: (hooks: L2WireHooks, peerOwning: (mac: string) => string | undefined) => L2Wire;
  /** bgp: starts the BGP announcer (default: gobgpd); undefined from it means no BGP. */
  bgp?: (ctx: BgpSpeakerContext) => Promise<Announcer | undefined>;
}

/** RESYNC_MS: a slow resync catches anything an event missed (the plan is level-based and cheap). */
const RESYNC_MS = 30_000;

const STOP_NAMES: Record<string, string> = { bgp: 'BGP', layer2: 'L2' };

/** createSpeaker builds the speaker from its dependencies; start() syncs, hears the others, then plans. */
export function createSpeaker(deps: ProgramDeps<SpeakerMetrics>, o: SpeakerOptions): App {
  const { kube: kc, clock, log, metrics } = deps;
  const { self, namespace } = o;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const recorder = new EventRecorder(kc, { component: 'ironlb-speaker', host: self, log, clock });

  type Obj = k8s.KubernetesObject & { spec?: unknown };
  const configSources = CONFIG_RESOURCES.map((resource) => ({
    kind: resource.kind,
    informer: metallbInformer<Obj>(kc, { namespace, resource, log }),
  }));
  // the Service and EndpointSlice caches grow with the cluster (every Service, of any type, and its slices):
  // they keep only what the snapshot, the Events and the conflict condition read
  const services = serviceInformer(kc, log, { transform: slimSpeakerService });
  const nodes = new Informer<k8s.V1Node>(kc, {
    name: 'nodes',
    path: '/api/v1/nodes',
    list: () => core.listNode(),
    log,
  });
  const slices = new Informer<k8s.V1EndpointSlice>(kc, {
    name: 'endpointslices',
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    list: () => discovery.listEndpointSliceForAllNamespaces(),
    transform: slimEndpointSlice,
    log,
  });
  // BGP passwords: BGPPeer.spec.passwordSecret names a Secret in this namespace
  const secrets = new Informer<k8s.V1Secret>(kc, {
    name: 'secrets',
    path: `/api/v1/namespaces/${namespace}/secrets`,
    list: () => core.listNamespacedSecret({ namespace }),
    // only a basic-auth Secret's password is kept; no other value of the namespace (the webhook's TLS key)
    transform: (obj) => keepPasswordOnly(obj) as k8s.V1Secret,
    log,
  });

  // --- configuration: parsed again only after a change ------------------------------------------------------
  let config: Config | undefined;
  let configDirty = true;
  const currentConfig = (): Config => {
    if (!config || configDirty) {
      const objects = [
        ...configSources.flatMap(({ kind, informer }) =>
          informer.list().map((obj) => ({ ...(obj as object), kind })),
        ),
        // BGPPeer.spec.passwordSecret is resolved by parseConfig from these
        ...secrets.list().map((obj) => ({ ...obj, kind: 'Secret' })),
      ];
      const parsed = parseConfig(objects, { namespace });
      for (const p of parsed.problems)
        log.warn({ kind: p.kind, name: p.name, message: p.message }, 'configuration object rejected');
      metrics.configStale.set(parsed.problems.length ? 1 : 0);
      metrics.configLoaded.set(1);
      config = parsed.config;
      configDirty = false;
    }
    return config;
  };

  const getService = (key: string): k8s.V1Service | undefined => {
    const [ns, name] = key.split('/');
    return services.get(name ?? '', ns);
  };

  // --- announcers -----------------------------------------------------------------------------------------
  const statusObjects = new NodeStatusObjects(kc, L2_STATUS, { namespace, node: self, log, clock });
  const conflicts = new ConflictConditions(kc, { log, clock });
  const peerOwning = (mac: string): string | undefined => liveness.membership.peerOwning(mac);
  const l2 = new L2Protocol({
    self,
    mode: o.mode,
    ignoreExcludeLabel: o.ignoreExcludeLabel,
    handoffMs: o.handoffMs,
    // answers from another speaker's MAC are a handover in progress, not a conflict (liveness carries the MACs)
    wire: (hooks) => o.wire?.(hooks, peerOwning) ?? new L2Announcer({ log, peerOwning, clock, ...hooks }),
    status: statusObjects,
    recorder,
    getService,
    reportConflict: (svc, r) => conflicts.report(svc, r),
    metrics,
    log,
    clock,
  });
  const announcers: Announcer[] = [l2];

  let started = false;
  let leaving = false;
  const liveness: LivenessAgent = new LivenessAgent({
    self,
    ...(o.liveness.key ? { key: o.liveness.key } : {}),
    port: o.liveness.port,
    intervalMs: o.liveness.intervalMs,
    timeoutMs: o.liveness.timeoutMs,
    log,
    clock,
    // heartbeats from the addon's thread keep flowing while this one is busy (a replaced transport: tests)
    ...(o.liveness.transport ? { transport: o.liveness.transport } : { senderThread: true }),
    peers: () => peerAddresses(nodes.list(), self),
    macs: (): string[] => l2.wire.localMacs(),
    onChange: (alive) => {
      metrics.membersAlive.set(alive.length);
      // after a partition the other side may have removed this node's ServiceL2Status objects as stale
      if (started && !leaving) statusObjects.reverify();
      replan('membership');
    },
  });

  /** snapshot is the one view of the inputs every announcer plans from. */
  const snapshot = (): SpeakerSnapshot => ({
    services: serviceViews(services.list(), slices.list(), o.lbClass),
    nodes: nodeViews(nodes.list()),
    alive: new Set(liveness.membership.alive()),
    config: currentConfig(),
  });

  // how long the last plan took and when it ended, for the pacing of the next (src/announce/pacing.ts)
  let lastPlanMs = 0;
  let lastPlanEnd = -Infinity;
  function replan(trigger: string): void {
    if (!started || leaving) return;
    const t0 = performance.now();
    const s = snapshot();
    for (const a of announcers) a.apply(a.plan(s), trigger);
    lastPlanMs = performance.now() - t0;
    lastPlanEnd = clock.now();
    metrics.plans.inc({ trigger });
    metrics.planSeconds.inc(lastPlanMs / 1000);
  }

  // One plan pending at a time: a change arriving while one is scheduled is seen by it. The wait batches a burst
  // and, after a long plan, spaces the next one out, so planning keeps to a share of a core however many Services
  // change (membership changes, the failover path, plan at once and do not wait).
  let replanTimer: Timer | undefined;
  const replanSoon = (trigger: string): void => {
    if (replanTimer) return;
    const delay = nextPlanDelay(PLAN_PACING, { lastPlanMs, sinceLastPlanMs: clock.now() - lastPlanEnd });
    replanTimer = clock.setTimeout(() => {
      replanTimer = undefined;
      replan(trigger);
    }, delay);
  };
  for (const inf of [services, nodes, slices])
    for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, () => replanSoon(inf.name));
  // a configuration object's status (the controller counts a pool's addresses at every allocation) changes no
  // plan: an update that keeps its generation and labels (selectors match labels) is not parsed again
  const seen = new Map<string, string>();
  const configKey = (obj: k8s.KubernetesObject): string =>
    `${obj.kind ?? ''}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
  const configVersion = (obj: k8s.KubernetesObject): string | undefined =>
    obj.metadata?.generation === undefined
      ? undefined
      : `${obj.metadata.generation} ${JSON.stringify(obj.metadata.labels ?? {})}`;
  for (const informer of [...configSources.map((c) => c.informer), secrets])
    for (const verb of ['add', 'update', 'delete'] as const)
      informer.on(verb, (obj: k8s.KubernetesObject) => {
        const key = `${informer.name}:${configKey(obj)}`;
        const version = configVersion(obj);
        if (verb === 'update' && version !== undefined && seen.get(key) === version) return;
        if (verb === 'delete' || version === undefined) seen.delete(key);
        else seen.set(key, version);
        configDirty = true;
        replanSoon('config');
      });

  let resyncTimer: Timer | undefined;
  const resync = (): void => {
    statusObjects.reverify();
    replan('resync');
    resyncTimer = clock.setTimeout(resync, RESYNC_MS);
  };
  const informers = [services, nodes, slices, secrets, ...configSources.map((c) => c.informer)];

  return {
    // a new speaker counts as ready (a rollout moves on to the next node) only once every announcer announces
    ready: () => started && announcers.every((a) => a.ready?.() ?? true),

    async debug(path) {
      if (path !== '/debug/plan') return undefined;
      const body = {
        node: self,
        alive: liveness.membership.alive(),
        services: l2.last?.services ?? [],
        conflicts: Object.fromEntries(l2.wire.conflicts),
      };
      return { status: 200, body: JSON.stringify(body) };
    },

    async start() {
      await Promise.all(informers.map((i) => i.start()));
      await Promise.all(informers.map((i) => i.synced));
      // hear the others, unheard: until this speaker joins, they keep announcing what it will take over
      await liveness.listen();
      const bgp = await (o.bgp ?? startBgpSpeaker)({
        self,
        namespace,
        kc,
        log,
        registry: metrics.registry,
        recorder,
        gobgpApi: o.gobgp.api,
        spawn: o.gobgp.spawn,
        ignoreExcludeLabel: o.ignoreExcludeLabel,
        announced: new SeriesSet(metrics.announced),
        clock,
      });
      // BGP plans first, as before: its paths follow the same snapshot as L2's answers
      if (bgp) announcers.unshift(bgp);
      // hear from the other speakers before the first election, so a restart does not grab every address
      await sleep(clock, o.liveness.timeoutMs);
      if (leaving) return;
      started = true;
      log.info(
        { alive: liveness.membership.alive(), interfaces: l2.wire.eligibleInterfaces() },
        'speaker started',
      );
      // Make before break: join only now, ready to announce. The peers hand this node's addresses back when
      // the first heartbeat arrives; the first plan follows one batching window later, so they have stopped (and do
      // not defend against its gratuitous announcements) while clients still reach them meanwhile.
      liveness.join();
      replanSoon('start');
      resyncTimer = clock.setTimeout(resync, RESYNC_MS);
    },

    async stop(signal) {
      if (leaving) return;
      log.info({ signal, handoffMs: o.handoffMs }, 'leaving: handing addresses over');
      // tell the others first: they take over (and announce) while this node still answers
      liveness.leave();
      leaving = true;
      replanTimer?.cancel();
      resyncTimer?.cancel();
      await Promise.all(
        announcers.map((a) =>
          a
            .stop()
            .catch((e: unknown) =>
              log.warn({ err: errorMessage(e) }, `${STOP_NAMES[a.protocol]} stop failed`),
            ),
        ),
      );
      liveness.stop();
      conflicts.stop();
    },
  };
}
