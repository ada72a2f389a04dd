// ironlb-controller — assigns addresses to LoadBalancer Services from metallb.io IPAddressPools.
// One active replica (Lease); the others keep warm caches and serve the admission webhook.
import * as k8s from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '../edge/log.ts';
import { Informer, errorMessage, metallbInformer, serviceInformer } from '../edge/informer.ts';
import { WorkQueue } from '../edge/workqueue.ts';
import { LeaderElector } from '../edge/leader.ts';
import { EventRecorder } from '../edge/events.ts';
import { serveMetrics } from '../edge/http.ts';
import { ServiceController, keyOf } from './service-controller.ts';
import { ApiStatusWriter, PoolStatusWriter, poolStatusBody, type PoolStatusBody } from './writers.ts';
import { ControllerMetrics } from './metrics.ts';
import { loadKubeConfig } from '../edge/connections.ts';
import { serveWebhook } from './webhook.ts';
import { CONFIG_RESOURCES, RESOURCES, apiVersionOf, type Resource } from '../src/contracts/resources.ts';
import { ensureWebhookCert } from './webhook-cert.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = process.env;
const USAGE = `Usage: node controller/main.ts [options]

Assigns external addresses to Services of type LoadBalancer from metallb.io IPAddressPools.

Options (environment variable in brackets):
  --kubeconfig FILE         kubeconfig; in-cluster config when unset [KUBECONFIG]
  --namespace NS            namespace of the metallb.io objects and the Lease [IRONLB_NAMESPACE] (ironlb-system)
  --lb-class NAME           serve only Services with this spec.loadBalancerClass [IRONLB_LB_CLASS]
                            (unset: only Services without a class)
  --metrics-host ADDR       (0.0.0.0) [IRONLB_METRICS_HOST]
  --metrics-port PORT       /metrics, /healthz, /readyz; 0 disables [IRONLB_METRICS_PORT] (7472)
  --webhook-port PORT       validating webhook (HTTPS); 0 disables [IRONLB_WEBHOOK_PORT] (9443)
  --webhook-host ADDR       (0.0.0.0) [IRONLB_WEBHOOK_HOST]
  --webhook-cert FILE       serving certificate (PEM) [IRONLB_WEBHOOK_CERT]
  --webhook-key FILE        its key (PEM) [IRONLB_WEBHOOK_KEY]
  --webhook-secret NAME     without --webhook-cert: keep the certificate in this Secret, creating it when
                            empty, and write its CA into the webhook configuration [IRONLB_WEBHOOK_SECRET]
  --webhook-configuration NAME  (ironlb-validating-webhook) [IRONLB_WEBHOOK_CONFIGURATION]
  --webhook-service NAME    the certificate is for NAME.<namespace>.svc (ironlb-webhook) [IRONLB_WEBHOOK_SERVICE]
  --leader-elect BOOL       hold a Lease so only one replica writes (true) [IRONLB_LEADER_ELECT]
  --lease-name NAME         (ironlb-controller) [IRONLB_LEASE_NAME]
  --identity ID             lease holder identity [IRONLB_POD_NAME] (hostname-pid)
  --lease-duration S        (15) --renew-deadline S (10) --retry-period S (2)
  --workers N               concurrent reconciles (4) [IRONLB_WORKERS]
  --conflict-hold S         keep avoiding an address another host uses this long (900) [IRONLB_CONFLICT_HOLD]
  --log-level LEVEL         trace|debug|info|warn|error (info) [IRONLB_LOG_LEVEL]
  -h, --help                this text`;

const { values: f } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: env.KUBECONFIG },
    namespace: { type: 'string', default: env.IRONLB_NAMESPACE ?? 'ironlb-system' },
    'lb-class': { type: 'string', default: env.IRONLB_LB_CLASS },
    'metrics-host': { type: 'string', default: env.IRONLB_METRICS_HOST ?? '0.0.0.0' },
    'metrics-port': { type: 'string', default: env.IRONLB_METRICS_PORT ?? '7472' },
    'webhook-port': { type: 'string', default: env.IRONLB_WEBHOOK_PORT ?? '9443' },
    'webhook-host': { type: 'string', default: env.IRONLB_WEBHOOK_HOST ?? '0.0.0.0' },
    'webhook-cert': { type: 'string', default: env.IRONLB_WEBHOOK_CERT },
    'webhook-key': { type: 'string', default: env.IRONLB_WEBHOOK_KEY },
    'webhook-secret': { type: 'string', default: env.IRONLB_WEBHOOK_SECRET },
    'webhook-configuration': {
      type: 'string',
      default: env.IRONLB_WEBHOOK_CONFIGURATION ?? 'ironlb-validating-webhook',
    },
    'webhook-service': { type: 'string', default: env.IRONLB_WEBHOOK_SERVICE ?? 'ironlb-webhook' },
    'leader-elect': { type: 'string', default: env.IRONLB_LEADER_ELECT ?? 'true' },
    'lease-name': { type: 'string', default: env.IRONLB_LEASE_NAME ?? 'ironlb-controller' },
    identity: { type: 'string', default: env.IRONLB_POD_NAME ?? `${hostname()}-${process.pid}` },
    'lease-duration': { type: 'string', default: '15' },
    'renew-deadline': { type: 'string', default: '10' },
    'retry-period': { type: 'string', default: '2' },
    workers: { type: 'string', default: env.IRONLB_WORKERS ?? '4' },
    'conflict-hold': { type: 'string', default: env.IRONLB_CONFLICT_HOLD ?? '900' },
    'log-level': { type: 'string', default: env.IRONLB_LOG_LEVEL ?? 'info' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (f.help) {
  console.log(USAGE);
  process.exit(0);
}

const log = createLogger('ironlb-controller', f['log-level']);
const namespace = f.namespace as string;
const kc = loadKubeConfig(f.kubeconfig);
const core = kc.makeApiClient(k8s.CoreV1Api);
const metrics = new ControllerMetrics();
const recorder = new EventRecorder(kc, { component: 'ironlb-controller', host: f.identity as string, log });
const queue = new WorkQueue({
  onError: (key, err, retryInMs) => {
    metrics.reconciles.inc({ result: 'error' });
    log.warn({ service: key, err: errorMessage(err), retryInMs }, 'reconcile failed');
  },
});

let leading = f['leader-elect'] !== 'true';
let elector: LeaderElector | undefined;
const canWrite = () => (elector ? elector.isLeader() : leading);

type Obj = k8s.KubernetesObject & { spec?: unknown; status?: unknown };
const crd = (resource: Resource) => metallbInformer<Obj>(kc, { namespace, resource, log });
const services = serviceInformer(kc, log);
const namespaces = new Informer<k8s.V1Namespace>(kc, {
  name: 'namespaces',
  path: '/api/v1/namespaces',
  list: () => core.listNamespace(),
  log,
});
const pools = crd(RESOURCES.IPAddressPool);
const others = CONFIG_RESOURCES.filter((r) => r !== RESOURCES.IPAddressPool).map(crd);
const kinds = Object.fromEntries(CONFIG_RESOURCES.map((r) => [r.plural, r.kind]));
for (const inf of [services, namespaces, pools, ...others])
  inf.onError = () => metrics.watchRestarts.inc({ resource: inf.name });

const enqueue = (key: string) => {
  if (canWrite()) queue.add(key);
};

const controller = new ServiceController({
  store: {
    getService: (key) => {
      const [ns, name] = key.split('/');
      return services.get(name ?? '', ns);
    },
    listServices: () => services.list(),
    namespaceLabels: (ns) => namespaces.get(ns)?.metadata?.labels ?? {},
  },
  writer: new ApiStatusWriter(kc),
  recorder,
  enqueue,
  canWrite,
  lbClass: f['lb-class'],
  namespace,
  log,
  conflictHoldMs: Number(f['conflict-hold']) * 1000,
  hooks: {
    onAssigned: (a) => {
      if (a.changed) metrics.allocations.inc({ source: a.source });
      schedulePoolStatus();
    },
    onFailed: (_key, err) => {
      metrics.allocationFailures.inc({ reason: err.code });
      schedulePoolStatus();
    },
    onReleased: () => schedulePoolStatus(),
    onPoolsChanged: () => schedulePoolStatus(),
    onStatusWrite: () => metrics.statusWrites.inc(),
  },
});

// --- pools: parse on every change (debounced), write pool status and metrics (debounced) ----------------
const poolWriter = new PoolStatusWriter(kc);
const reportedProblems = new Map<string, string>();
let poolsTimer: NodeJS.Timeout | undefined;
function poolsChanged(): void {
  clearTimeout(poolsTimer);
  poolsTimer = setTimeout(() => {
    const problems = controller.setPools(pools.list());
    metrics.configLoaded.set(1);
    metrics.configStale.set(problems.length > 0 ? 1 : 0);
    metrics.invalidObjects.reset();
    for (const p of problems) metrics.invalidObjects.inc({ kind: p.kind });
    const now = new Set<string>();
    for (const p of problems) {
      now.add(p.name);
      if (reportedProblems.get(p.name) === p.message) continue;
      reportedProblems.set(p.name, p.message);
      const obj = pools.get(p.name, namespace);
      recorder.event(
        {
          kind: RESOURCES.IPAddressPool.kind,
          apiVersion: apiVersionOf(RESOURCES.IPAddressPool),
          namespace,
          name: p.name,
          uid: obj?.metadata?.uid,
        },
        'Warning',
        'InvalidConfiguration',
        p.message,
      );
      log.warn({ pool: p.name, retryable: p.retryable, message: p.message }, 'pool rejected');
    }
    for (const name of [...reportedProblems.keys()]) if (!now.has(name)) reportedProblems.delete(name);
    schedulePoolStatus();
  }, 50);
}

let statusTimer: NodeJS.Timeout | undefined;
function schedulePoolStatus(): void {
  if (statusTimer) return;
  statusTimer = setTimeout(() => {
    statusTimer = undefined;
    void writePoolStatus();
  }, 300);
}

async function writePoolStatus(): Promise<void> {
  metrics.pendingServices.set(controller.pending.size);
  const problems = new Map(controller.problems.map((p) => [p.name, p]));
  for (const obj of pools.list()) {
    const name = obj.metadata?.name ?? '';
    const st = controller.allocator.poolStatus(name);
    if (st) {
      const total = st.capacityIPv4 + st.capacityIPv6;
      metrics.addressesTotal.set({ pool: name }, Number(total));
      metrics.addressesInUse.set({ pool: name }, Number(st.assignedIPv4 + st.assignedIPv6));
      metrics.ipv4Total.set({ pool: name }, Number(st.capacityIPv4));
      metrics.ipv4InUse.set({ pool: name }, Number(st.assignedIPv4));
      metrics.ipv6Total.set({ pool: name }, Math.min(Number(st.capacityIPv6), Number.MAX_SAFE_INTEGER));
      metrics.ipv6InUse.set({ pool: name }, Number(st.assignedIPv6));
    }
    if (!canWrite()) continue;
    const prev = obj.status as PoolStatusBody | undefined;
    const conflicts = [...controller.conflicts.values()]
      .filter((c) => controller.allocator.poolOf(c.ip) === name)
      .map((c) => ({
        address: c.ip,
        reason: 'AddressInUse',
        detectedBy: c.detectedBy,
        lastSeen: new Date(c.at).toISOString(),
      }));
    const body = poolStatusBody(
      st,
      problems.get(name),
      prev,
      new Date(),
      obj.metadata?.generation,
      conflicts,
    );
    const same =
      prev &&
      prev.assignedIPv4 === body.assignedIPv4 &&
      prev.assignedIPv6 === body.assignedIPv6 &&
      prev.availableIPv4 === body.availableIPv4 &&
      prev.availableIPv6 === body.availableIPv6 &&
      JSON.stringify(
        prev.conditions?.map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]),
      ) ===
        JSON.stringify(
          body.conditions.map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]),
        );
    if (same) continue;
    try {
      await poolWriter.write(namespace, name, body);
    } catch (err) {
      log.warn({ pool: name, err: errorMessage(err) }, 'could not write pool status');
      schedulePoolStatus();
    }
  }
}

// --- wiring ---------------------------------------------------------------------------------------------
const enqueueSvc = (svc: k8s.V1Service) => enqueue(keyOf(svc));
services.on('add', enqueueSvc);
services.on('update', enqueueSvc);
services.on('delete', enqueueSvc);
for (const verb of ['add', 'update', 'delete'] as const) pools.on(verb, poolsChanged);
namespaces.on('update', (ns) => {
  for (const svc of services.list(ns.metadata?.name)) enqueueSvc(svc);
});

function startLeading(): void {
  metrics.isLeader.set(1);
  leading = true;
  // status is the state of record: take back what Services already hold, then reconcile those first
  const restored = controller.restoreAll();
  for (const key of restored) queue.add(key);
  for (const svc of services.list()) queue.add(keyOf(svc));
  log.info({ restored: restored.length, services: services.list().length }, 'reconciling as leader');
  schedulePoolStatus();
}

let ready = false;
async function main(): Promise<void> {
  const metricsPort = Number(f['metrics-port']);
  if (metricsPort > 0) {
    await serveMetrics({
      host: f['metrics-host'] as string,
      port: metricsPort,
      registry: metrics.registry,
      ready: () => ready,
      extra: async (path) =>
        path === '/debug/pending'
          ? { status: 200, body: JSON.stringify(Object.fromEntries(controller.pending)) }
          : undefined,
    });
  }
  const webhookPort = Number(f['webhook-port']);
  if (webhookPort > 0 && !f['webhook-cert'] && f['webhook-secret']) {
    const files = await ensureWebhookCert(kc, {
      namespace,
      secret: f['webhook-secret'],
      service: f['webhook-service'] as string,
      configuration: f['webhook-configuration'] as string,
      dir: mkdtempSync(join(tmpdir(), 'ironlb-webhook-')),
      log,
    });
    f['webhook-cert'] = files.certFile;
    f['webhook-key'] = files.keyFile;
  }
  if (webhookPort > 0 && f['webhook-cert'] && f['webhook-key']) {
    await serveWebhook({
      port: webhookPort,
      host: f['webhook-host'] as string,
      certFile: f['webhook-cert'],
      keyFile: f['webhook-key'],
      namespace,
      existing: () =>
        [pools, ...others].flatMap((inf) => {
          return inf.list().map((o) => ({ ...(o as Record<string, unknown>), kind: kinds[inf.name] }));
        }),
      log,
    });
    log.info({ port: webhookPort }, 'webhook serving');
  } else if (webhookPort > 0) {
    log.info('webhook disabled: no --webhook-cert/--webhook-key');
  }
  await Promise.all([services, namespaces, pools, ...others].map((i) => i.start()));
  await Promise.all([services, namespaces, pools, ...others].map((i) => i.synced));
  controller.setPools(pools.list());
  metrics.configLoaded.set(1);
  ready = true;
  log.info(
    {
      namespace,
      lbClass: f['lb-class'] ?? null,
      services: services.list().length,
      pools: pools.list().length,
    },
    'caches synced',
  );
  void queue.run(async (key) => {
    const r = await controller.reconcile(key);
    metrics.reconciles.inc({ result: 'ok' });
    return r;
  }, Number(f.workers));
  if (f['leader-elect'] === 'true') {
    elector = new LeaderElector(kc, {
      namespace,
      name: f['lease-name'] as string,
      identity: f.identity as string,
      leaseDurationSeconds: Number(f['lease-duration']),
      renewDeadlineSeconds: Number(f['renew-deadline']),
      retryPeriodSeconds: Number(f['retry-period']),
      log,
      onStartedLeading: startLeading,
      onStoppedLeading: () => {
        // never write again from this process: exit and let the restart come back as a standby
        metrics.isLeader.set(0);
        log.error('lost the leader Lease; exiting so no two replicas ever write at once');
        process.exit(1);
      },
    });
    elector.start();
  } else {
    startLeading();
  }
  // addresses avoided because of a conflict become usable again after the hold time
  setInterval(() => {
    if (canWrite() && controller.expireConflicts().length) schedulePoolStatus();
  }, 60_000).unref();
}

async function shutdown(signal: string): Promise<void> {
  log.info({ signal }, 'shutting down');
  queue.shutDown();
  await elector?.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

main().catch((err: unknown) => {
  log.fatal({ err: errorMessage(err) }, 'controller failed to start');
  process.exit(1);
});
