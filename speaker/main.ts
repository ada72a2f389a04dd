// ironlb-speaker — one per node. Decides, for every Service with an address, whether this node announces it,
// and does it on the wire. L2: ARP/NDP answers and gratuitous announcements. Liveness comes from the other
// speakers directly (UDP heartbeats), so failover needs no API server and takes well under a second.
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger } from '../edge/log.ts';
import { Informer, errorMessage, metallbInformer, serviceInformer } from '../edge/informer.ts';
import { EventRecorder, serviceTarget } from '../edge/events.ts';
import { serveMetrics } from '../edge/http.ts';
import { loadKubeConfig } from '../edge/connections.ts';
import { parseConfig } from '../src/config/parse.ts';
import type { Config } from '../src/config/model.ts';
import { isOurs } from '../src/service/view.ts';
import { summariseEndpoints } from '../src/service/endpoints.ts';
import { CONFIG_RESOURCES, type Resource } from '../src/contracts/resources.ts';
import { planL2, type AnnounceNode, type AnnounceService, type L2Plan } from '../src/announce/l2plan.ts';
import { LivenessAgent } from './liveness.ts';
import { L2Announcer } from './l2-announcer.ts';
import { SeriesSet, SpeakerMetrics } from './metrics.ts';
import { L2_STATUS, NodeStatusObjects, reportConflict } from './status-objects.ts';
import { startBgpSpeaker, type BgpSpeaker } from './bgp-speaker.ts';

const env = process.env;
const USAGE = `Usage: node speaker/main.ts [options]

Announces LoadBalancer addresses from this node: ARP/NDP in L2 mode (BGP through gobgpd: see --bgp).

Options (environment variable in brackets):
  --kubeconfig FILE         kubeconfig; in-cluster config when unset [KUBECONFIG]
  --node-name NAME          this node [IRONLB_NODE_NAME] (required)
  --namespace NS            namespace of the metallb.io objects [IRONLB_NAMESPACE] (ironlb-system)
  --lb-class NAME           only Services with this loadBalancerClass [IRONLB_LB_CLASS]
  --metrics-host ADDR       (0.0.0.0) [IRONLB_METRICS_HOST]
  --metrics-port PORT       /metrics, /healthz, /readyz, /debug/plan; 0 disables [IRONLB_METRICS_PORT] (7472)
  --liveness-port PORT      UDP port for speaker heartbeats [IRONLB_LIVENESS_PORT] (7946)
  --liveness-interval MS    heartbeat interval (100) [IRONLB_LIVENESS_INTERVAL]
  --liveness-timeout MS     silence after which a speaker is dead (350) [IRONLB_LIVENESS_TIMEOUT]
  --liveness-key-file FILE  shared secret that authenticates heartbeats (HMAC-SHA256; same on every node)
                            [IRONLB_LIVENESS_KEY holds the key itself]; without it heartbeats are unsigned
  --handoff-ms MS           on SIGTERM, keep answering this long after telling the others (1500)
  --election MODE           evenSpread (spread addresses evenly) or metallb (MetalLB's order) (evenSpread)
  --ignore-exclude-lb       ignore node.kubernetes.io/exclude-from-external-load-balancers
  --gobgp-api TARGET        gobgpd gRPC API (127.0.0.1:50051) [IRONLB_GOBGP_API]
  --gobgp-spawn BOOL        start gobgpd as a child process (true; false when it is a sidecar) [IRONLB_GOBGP_SPAWN]
  --log-level LEVEL         (info) [IRONLB_LOG_LEVEL]
  -h, --help                this text`;

const { values: f } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: env.KUBECONFIG },
    'node-name': { type: 'string', default: env.IRONLB_NODE_NAME },
    namespace: { type: 'string', default: env.IRONLB_NAMESPACE ?? 'ironlb-system' },
    'lb-class': { type: 'string', default: env.IRONLB_LB_CLASS },
    'metrics-host': { type: 'string', default: env.IRONLB_METRICS_HOST ?? '0.0.0.0' },
    'metrics-port': { type: 'string', default: env.IRONLB_METRICS_PORT ?? '7472' },
    'liveness-port': { type: 'string', default: env.IRONLB_LIVENESS_PORT ?? '7946' },
    'liveness-interval': { type: 'string', default: env.IRONLB_LIVENESS_INTERVAL ?? '100' },
    'liveness-timeout': { type: 'string', default: env.IRONLB_LIVENESS_TIMEOUT ?? '350' },
    'handoff-ms': { type: 'string', default: '1500' },
    'liveness-key-file': { type: 'string' },
    election: { type: 'string', default: 'evenSpread' },
    'ignore-exclude-lb': { type: 'boolean', default: false },
    'gobgp-api': { type: 'string', default: env.IRONLB_GOBGP_API ?? '127.0.0.1:50051' },
    'gobgp-spawn': { type: 'string', default: env.IRONLB_GOBGP_SPAWN ?? 'true' },
    'log-level': { type: 'string', default: env.IRONLB_LOG_LEVEL ?? 'info' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (f.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!f['node-name']) {
  console.error('speaker: --node-name (or IRONLB_NODE_NAME) is required\n\n' + USAGE);
  process.exit(2);
}
if (f.election !== 'evenSpread' && f.election !== 'metallb') {
  console.error(`speaker: --election must be "evenSpread" or "metallb", not "${f.election}"`);
  process.exit(2);
}
const self = f['node-name'];
const namespace = f.namespace as string;
const log = createLogger('ironlb-speaker', f['log-level']).child({ node: self });
const kc = loadKubeConfig(f.kubeconfig);
const core = kc.makeApiClient(k8s.CoreV1Api);
const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
const metrics = new SpeakerMetrics();
const recorder = new EventRecorder(kc, { component: 'ironlb-speaker', host: self, log });

type Obj = k8s.KubernetesObject & { spec?: unknown };
const crd = (resource: Resource) => ({
  kind: resource.kind,
  informer: metallbInformer<Obj>(kc, { namespace, resource, log }),
});
const services = serviceInformer(kc, log);
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
  log,
});
const configSources = CONFIG_RESOURCES.map(crd);
// BGP passwords: BGPPeer.spec.passwordSecret names a Secret in this namespace
const secrets = new Informer<k8s.V1Secret>(kc, {
  name: 'secrets',
  path: `/api/v1/namespaces/${namespace}/secrets`,
  list: () => core.listNamespacedSecret({ namespace }),
  log,
});

// --- configuration ----------------------------------------------------------------------------------------
let config: Config | undefined;
let configDirty = true;
function currentConfig(): Config {
  if (!config || configDirty) {
    const objects = [
      ...configSources.flatMap(({ kind, informer }) =>
        informer.list().map((o) => ({ ...(o as object), kind })),
      ),
      // BGPPeer.spec.passwordSecret is resolved by parseConfig from these
      ...secrets.list().map((o) => ({ ...o, kind: 'Secret' })),
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
}

// --- views ------------------------------------------------------------------------------------------------
function nodeViews(): AnnounceNode[] {
  return nodes.list().map((n) => ({
    name: n.metadata?.name ?? '',
    labels: n.metadata?.labels ?? {},
    networkUnavailable: (n.status?.conditions ?? []).some(
      (c) => c.type === 'NetworkUnavailable' && c.status === 'True',
    ),
  }));
}

function serviceViews(): AnnounceService[] {
  const endpoints = summariseEndpoints(slices.list());
  const out: AnnounceService[] = [];
  for (const svc of services.list()) {
    if (
      svc.spec?.type !== 'LoadBalancer' ||
      !isOurs({ loadBalancerClass: svc.spec?.loadBalancerClass }, f['lb-class'])
    )
      continue;
    const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);
    if (ips.length === 0) continue;
    const key = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
    const e = endpoints.get(key);
    out.push({
      key,
      labels: svc.metadata?.labels ?? {},
      ips,
      externalTrafficPolicy: svc.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
      hasReadyEndpoints: e?.ready ?? false,
      localEndpointNodes: e?.nodes ?? new Set(),
    });
  }
  return out;
}

// --- announcing -------------------------------------------------------------------------------------------
const announcer: L2Announcer = new L2Announcer({
  log,
  // answers from another speaker's MAC are a handover in progress, not a conflict (liveness carries the MACs)
  peerOwning: (mac): string | undefined => liveness.membership.peerOwning(mac),
  counters: {
    requestReceived: (ip) => metrics.requestsReceived.inc({ ip }),
    responseSent: (ip) => metrics.responsesSent.inc({ ip }),
    gratuitousSent: (ip) => metrics.gratuitousSent.inc({ ip }),
  },
  // an address claimed after probing is free again: it leaves the conflict metric
  onClaimed: (ip) => clearConflictMetric(ip),
  onConflict: (c) => {
    conflictLabels.set(c.ip, {
      labels: { ip: c.ip, interface: c.interfaceName, mac: c.mac },
      at: Date.now(),
    });
    metrics.conflicts.set({ ip: c.ip, interface: c.interfaceName, mac: c.mac }, 1);
    log.warn(
      { ip: c.ip, interface: c.interfaceName, mac: c.mac, evidence: c.evidence },
      'address already in use by another host: not announcing it',
    );
    for (const s of lastPlan?.services ?? []) {
      if (!s.ips.includes(c.ip)) continue;
      const svc = getService(s.key);
      if (svc) {
        recorder.event(
          serviceTarget(svc),
          'Warning',
          'AddressConflict',
          `Address "${c.ip}" is already in use by another host (MAC ${c.mac}) on ${self}/${c.interfaceName}: not announcing it`,
        );
        reportConflict(core, svc, { ip: c.ip, mac: c.mac, interfaceName: c.interfaceName, node: self, log });
      }
    }
  },
});
const statusObjects = new NodeStatusObjects(kc, L2_STATUS, { namespace, node: self, log });

function getService(key: string): k8s.V1Service | undefined {
  const [ns, name] = key.split('/');
  return services.get(name ?? '', ns);
}
let lastPlan: L2Plan | undefined;
const l2Series = new SeriesSet(metrics.announced);
/**
 * conflictLabels: the metric labels of each address found in use elsewhere, kept until the address is claimed
 * successfully again or CONFLICT_METRIC_HOLD_MS pass (the controller's default hold before it reuses it).
 */
const conflictLabels = new Map<
  string,
  { labels: { ip: string; interface: string; mac: string }; at: number }
>();
const CONFLICT_METRIC_HOLD_MS = 15 * 60_000;
function clearConflictMetric(ip: string): void {
  const c = conflictLabels.get(ip);
  if (!c) return;
  metrics.conflicts.remove(c.labels);
  conflictLabels.delete(ip);
}
let bgp: BgpSpeaker | undefined;
/**
 * known: the addresses some node was elected for in the previous plan. An address that was not (new, or back
 * after being gone) is probed before it is announced; one another speaker announced until now is taken over
 * at once.
 */
let known = new Set<string>();
let firstPlan = true;
let started = false;
let leaving = false;
const livenessKey = f['liveness-key-file']
  ? readFileSync(f['liveness-key-file'])
  : env.IRONLB_LIVENESS_KEY
    ? Buffer.from(env.IRONLB_LIVENESS_KEY, 'utf8')
    : undefined;
if (livenessKey && livenessKey.length < 16) {
  console.error('speaker: the liveness key must be at least 16 bytes');
  process.exit(2);
}
if (!livenessKey)
  log.warn('speaker heartbeats are not authenticated: set IRONLB_LIVENESS_KEY (a Secret) on every speaker');
const liveness: LivenessAgent = new LivenessAgent({
  self,
  ...(livenessKey ? { key: livenessKey } : {}),
  port: Number(f['liveness-port']),
  intervalMs: Number(f['liveness-interval']),
  timeoutMs: Number(f['liveness-timeout']),
  log,
  peers: () =>
    nodes
      .list()
      .filter((n) => n.metadata?.name !== self)
      .flatMap((n) => {
        const a = (n.status?.addresses ?? []).find((x) => x.type === 'InternalIP');
        return a ? [{ node: n.metadata?.name ?? '', address: a.address }] : [];
      }),
  macs: (): string[] => announcer.localMacs(),
  onChange: (alive) => {
    metrics.membersAlive.set(alive.length);
    // after a partition the other side may have removed this node's ServiceL2Status objects as stale
    if (started && !leaving) statusObjects.reverify();
    replan('membership');
  },
});

function replan(trigger: string): void {
  if (!started || leaving) return;
  const t0 = performance.now();
  const inputs = {
    services: serviceViews(),
    nodes: nodeViews(),
    alive: new Set(liveness.membership.alive()),
    config: currentConfig(),
  };
  bgp?.replan(inputs);
  const plan = planL2({
    self,
    ...inputs,
    mode: f.election as 'evenSpread' | 'metallb',
    ignoreExcludeLabel: f['ignore-exclude-lb'],
  });
  const fresh = new Set<string>();
  const elected = new Set<string>();
  for (const s of plan.services) {
    if (!s.election?.ok) continue;
    for (const ip of s.ips) {
      if (!known.has(ip) && !firstPlan) fresh.add(ip);
      elected.add(ip);
    }
  }
  known = elected;
  firstPlan = false;
  announcer.apply({ addresses: plan.announce, fresh });
  for (const [ip, c] of conflictLabels)
    if (Date.now() - c.at > CONFLICT_METRIC_HOLD_MS) clearConflictMetric(ip);
  const before = new Set((lastPlan?.services ?? []).filter((s) => s.decision.announce).map((s) => s.key));
  l2Series.replace(
    plan.services
      .filter((s) => s.decision.announce)
      .flatMap((s) => s.ips.map((ip) => ({ node: self, protocol: 'layer2', service: s.key, ip }))),
  );
  for (const s of plan.services) {
    if (!s.decision.announce) continue;
    if (!before.has(s.key)) {
      const svc = getService(s.key);
      if (svc)
        recorder.event(
          serviceTarget(svc),
          'Normal',
          'nodeAssigned',
          `announcing from node "${self}" with protocol "layer2"`,
        );
      log.info({ service: s.key, ips: s.ips, trigger }, 'announcing');
    }
  }
  for (const key of before) {
    if (!plan.services.some((s) => s.key === key && s.decision.announce)) {
      const why = plan.services.find((s) => s.key === key)?.decision;
      log.info(
        { service: key, reason: why && !why.announce ? why.reason : 'serviceGone', trigger },
        'stopped announcing',
      );
    }
  }
  lastPlan = plan;
  statusObjects.sync(
    plan.services
      .filter((s) => s.decision.announce && getService(s.key))
      .map((s) => {
        const on = [...new Set(s.ips.flatMap((ip) => announcer.announcedOn(ip)))].sort();
        return {
          key: s.key,
          detail: { interfaces: (on.length ? on : s.interfaces).map((name) => ({ name })) },
        };
      }),
  );
  metrics.plans.inc({ trigger });
  metrics.planSeconds.inc((performance.now() - t0) / 1000);
}

let replanTimer: NodeJS.Timeout | undefined;
function replanSoon(trigger: string): void {
  clearTimeout(replanTimer);
  replanTimer = setTimeout(() => replan(trigger), 20);
}
for (const inf of [services, nodes, slices])
  for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, () => replanSoon(inf.name));
for (const informer of [...configSources.map((c) => c.informer), secrets])
  for (const verb of ['add', 'update', 'delete'] as const)
    informer.on(verb, () => {
      configDirty = true;
      replanSoon('config');
    });

async function main(): Promise<void> {
  const metricsPort = Number(f['metrics-port']);
  if (metricsPort > 0) {
    await serveMetrics({
      host: f['metrics-host'] as string,
      port: metricsPort,
      registry: metrics.registry,
      ready: () => started,
      extra: async (path) =>
        path === '/debug/plan'
          ? {
              status: 200,
              body: JSON.stringify({
                node: self,
                alive: liveness.membership.alive(),
                services: lastPlan?.services ?? [],
                conflicts: Object.fromEntries(announcer.conflicts),
              }),
            }
          : undefined,
    });
  }
  const all = [services, nodes, slices, secrets, ...configSources.map((c) => c.informer)];
  await Promise.all(all.map((i) => i.start()));
  await Promise.all(all.map((i) => i.synced));
  await liveness.start();
  bgp = await startBgpSpeaker({
    self,
    namespace,
    kc,
    log,
    registry: metrics.registry,
    recorder,
    gobgpApi: f['gobgp-api'] as string,
    spawn: f['gobgp-spawn'] !== 'false',
    ignoreExcludeLabel: f['ignore-exclude-lb'],
    announced: new SeriesSet(metrics.announced),
  });
  // hear from the other speakers before the first election, so a restart does not grab every address
  await new Promise((r) => setTimeout(r, Number(f['liveness-timeout'])));
  started = true;
  log.info(
    { alive: liveness.membership.alive(), interfaces: announcer.eligibleInterfaces() },
    'speaker started',
  );
  replan('start');
  // a slow resync catches anything an event missed (the plan is level-based and cheap)
  setInterval(() => {
    statusObjects.reverify();
    replan('resync');
  }, 30_000).unref();
}

async function shutdown(signal: string): Promise<void> {
  if (leaving) return;
  log.info({ signal, handoffMs: Number(f['handoff-ms']) }, 'leaving: handing addresses over');
  // tell the others first: they take over (and announce) while this node still answers
  liveness.leave();
  leaving = true;
  // from now on only the new owners announce: this node answers the clients that still send to it, nothing more
  announcer.quiesce();
  const bgpStopped = bgp?.stop().catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'BGP stop failed'));
  await new Promise((r) => setTimeout(r, Number(f['handoff-ms'])));
  announcer.close();
  liveness.stop();
  await bgpStopped;
  await statusObjects
    .removeAll()
    .catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'could not remove status objects'));
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

main().catch((err: unknown) => {
  log.fatal({ err: errorMessage(err) }, 'speaker failed to start');
  process.exit(1);
});
