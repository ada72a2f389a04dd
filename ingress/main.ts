// ironlb-ingress — the ingress proxy's control plane. Watches Ingresses of its classes and what they point
// at, drives HAProxy (a child process, runtime API first, seamless reload when structural), writes Events
// for problems and each served Ingress's status from the address of its own LoadBalancer Service. Every
// replica serves traffic; only the holder of the Lease writes Events and status.
import * as k8s from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadKubeConfig } from '../edge/connections.ts';
import { EventRecorder } from '../edge/events.ts';
import { serveMetrics } from '../edge/http.ts';
import { errorMessage } from '../edge/informer.ts';
import { LeaderElector } from '../edge/leader.ts';
import { createLogger } from '../edge/log.ts';
import { IngressLoop, type StatusWriter } from './controller.ts';
import { startDataplane } from './dataplane.ts';
import { sendCommand } from './haproxy-cli.ts';
import { IngressMetrics, parseFrontendStats } from './metrics.ts';
import { createIngressWatch } from './watch.ts';

const env = process.env;
const USAGE = `Usage: node ingress/main.ts [options]

Serves Ingresses of the IngressClasses whose spec.controller is ours through HAProxy, and writes their
status from the address of the ingress's own LoadBalancer Service.

Options (environment variable in brackets):
  --kubeconfig FILE          kubeconfig; in-cluster config when unset [KUBECONFIG]
  --namespace NS             namespace of the own Service and the Lease [IRONLB_NAMESPACE] (ironlb-system)
  --ingress-class NAME       IngressClass served even before its object exists, by name or by the
                             kubernetes.io/ingress.class annotation [IRONLB_INGRESS_CLASS] (ironlb)
  --controller NAME          spec.controller of the IngressClasses served [IRONLB_INGRESS_CONTROLLER]
                             (ironlb.io/ingress)
  --watch-without-class      also serve Ingresses that name no class (otherwise only when one of our
                             classes is the default) [IRONLB_WATCH_WITHOUT_CLASS=true]
  --service NAME             own Service; its load-balancer address goes into Ingress status
                             [IRONLB_INGRESS_SERVICE] (ironlb-ingress)
  --http-port PORT           plain HTTP listener [IRONLB_HTTP_PORT] (8080)
  --https-port PORT          TLS listener; 0 disables [IRONLB_HTTPS_PORT] (8443)
  --http-public-port PORT    port clients use for HTTP (the Service port), sent in X-Forwarded-Port
                             [IRONLB_HTTP_PUBLIC_PORT] (80)
  --https-public-port PORT   port clients use for HTTPS, in 308 redirects and X-Forwarded-Port
                             [IRONLB_HTTPS_PUBLIC_PORT] (443)
  --bind ADDRS               comma-separated listen addresses [IRONLB_BIND] (0.0.0.0,::)
  --run-dir DIR              HAProxy's configuration, maps, certificates and sockets [IRONLB_RUN_DIR]
                             (/run/ironlb)
  --haproxy PATH             HAProxy binary [IRONLB_HAPROXY] (haproxy)
  --metrics-host ADDR        (0.0.0.0) [IRONLB_METRICS_HOST]
  --metrics-port PORT        /metrics, /healthz, /readyz, /debug/table; 0 disables [IRONLB_METRICS_PORT] (10254)
  --leader-elect BOOL        hold a Lease so only one replica writes status and Events (true)
                             [IRONLB_LEADER_ELECT]
  --lease-name NAME          [IRONLB_LEASE_NAME] (ironlb-ingress)
  --identity ID              lease holder identity [IRONLB_POD_NAME] (hostname-pid)
  --lease-duration S         (15) --renew-deadline S (10) --retry-period S (2)
  --debounce-ms MS           changes within this window are reconciled once (100) [IRONLB_DEBOUNCE_MS]
  --log-level LEVEL          trace|debug|info|warn|error (info) [IRONLB_LOG_LEVEL]
  -h, --help                 this text`;

const { values: f } = parseArgs({
  options: {
    kubeconfig: { type: 'string', default: env.KUBECONFIG },
    namespace: { type: 'string', default: env.IRONLB_NAMESPACE ?? 'ironlb-system' },
    'ingress-class': { type: 'string', default: env.IRONLB_INGRESS_CLASS ?? 'ironlb' },
    controller: { type: 'string', default: env.IRONLB_INGRESS_CONTROLLER ?? 'ironlb.io/ingress' },
    'watch-without-class': { type: 'boolean', default: env.IRONLB_WATCH_WITHOUT_CLASS === 'true' },
    service: { type: 'string', default: env.IRONLB_INGRESS_SERVICE ?? 'ironlb-ingress' },
    'http-port': { type: 'string', default: env.IRONLB_HTTP_PORT ?? '8080' },
    'https-port': { type: 'string', default: env.IRONLB_HTTPS_PORT ?? '8443' },
    'http-public-port': { type: 'string', default: env.IRONLB_HTTP_PUBLIC_PORT ?? '80' },
    'https-public-port': { type: 'string', default: env.IRONLB_HTTPS_PUBLIC_PORT ?? '443' },
    bind: { type: 'string', default: env.IRONLB_BIND ?? '0.0.0.0,::' },
    'run-dir': { type: 'string', default: env.IRONLB_RUN_DIR ?? '/run/ironlb' },
    haproxy: { type: 'string', default: env.IRONLB_HAPROXY ?? 'haproxy' },
    'metrics-host': { type: 'string', default: env.IRONLB_METRICS_HOST ?? '0.0.0.0' },
    'metrics-port': { type: 'string', default: env.IRONLB_METRICS_PORT ?? '10254' },
    'leader-elect': { type: 'string', default: env.IRONLB_LEADER_ELECT ?? 'true' },
    'lease-name': { type: 'string', default: env.IRONLB_LEASE_NAME ?? 'ironlb-ingress' },
    identity: { type: 'string', default: env.IRONLB_POD_NAME ?? `${hostname()}-${process.pid}` },
    'lease-duration': { type: 'string', default: '15' },
    'renew-deadline': { type: 'string', default: '10' },
    'retry-period': { type: 'string', default: '2' },
    'debounce-ms': { type: 'string', default: env.IRONLB_DEBOUNCE_MS ?? '100' },
    'log-level': { type: 'string', default: env.IRONLB_LOG_LEVEL ?? 'info' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (f.help) {
  console.log(USAGE);
  process.exit(0);
}

const port = (name: string, value: string | undefined, allowZero = false): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) {
    console.error(`ingress: --${name} must be a port number, not "${value}"\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const httpPort = port('http-port', f['http-port']);
const httpsPort = port('https-port', f['https-port'], true);
const publicHttpPort = port('http-public-port', f['http-public-port']);
const publicHttpsPort = port('https-public-port', f['https-public-port']);
const binds = (f.bind as string)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const bindArg = (addr: string, p: number): string =>
  addr.includes(':') ? `[${addr}]:${p}${addr === '::' ? ' v6only' : ''}` : `${addr}:${p}`;

const namespace = f.namespace as string;
const serviceName = f.service as string;
const className = f['ingress-class'] as string;
const controllerName = f.controller as string;
const identity = f.identity as string;
const runDir = f['run-dir'] as string;
const log = createLogger('ironlb-ingress', f['log-level']).child({ identity });
const kc = loadKubeConfig(f.kubeconfig);
const networking = kc.makeApiClient(k8s.NetworkingV1Api);
const metrics = new IngressMetrics();
const recorder = new EventRecorder(kc, { component: 'ironlb-ingress', host: identity, log });
const watch = createIngressWatch(kc, { log });
for (const inf of watch.all) inf.onError = () => metrics.watchRestarts.inc({ resource: inf.name });

let elector: LeaderElector | undefined;
const leaderElect = f['leader-elect'] === 'true';
const isLeader = (): boolean => (elector ? elector.isLeader() : !leaderElect);

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const statusWriter: StatusWriter = {
  async write(ns, name, addresses) {
    await networking.patchNamespacedIngressStatus(
      {
        name,
        namespace: ns,
        // null removes the list (merge patch); the API server would drop an empty one anyway
        body: { status: { loadBalancer: { ingress: addresses.length > 0 ? addresses : null } } },
      },
      mergePatch,
    );
  },
};

const loop = new IngressLoop({
  snapshot: () => {
    const snap = watch.snapshot();
    // The class named by --ingress-class is ours even before (or without) its IngressClass object.
    if (snap.ingressClasses.some((c) => c.metadata?.name === className)) return snap;
    return {
      ...snap,
      ingressClasses: [
        ...snap.ingressClasses,
        { metadata: { name: className }, spec: { controller: controllerName } },
      ],
    };
  },
  ingresses: () => watch.ingresses.list(),
  ownService: () => watch.services.get(serviceName, namespace),
  startDataplane: (table, onExit) =>
    startDataplane(table, {
      dir: runDir,
      httpBinds: binds.map((a) => bindArg(a, httpPort)),
      httpsBinds: httpsPort > 0 ? binds.map((a) => bindArg(a, httpsPort)) : [],
      httpsPort: publicHttpsPort,
      publicHttpPort,
      haproxyBin: f.haproxy as string,
      log: (entry) => log.info({ dataplane: entry }, typeof entry.msg === 'string' ? entry.msg : 'haproxy'),
      onExit,
    }),
  recorder,
  status: statusWriter,
  isLeader,
  controller: controllerName,
  watchWithoutClass: f['watch-without-class'] === true,
  log,
  metrics,
  debounceMs: Number(f['debounce-ms']),
});
metrics.stats = async () =>
  loop.dataplane
    ? parseFrontendStats(await sendCommand(join(runDir, 'admin.sock'), 'show stat -1 1 -1', 2000))
    : [];

/** debugTable is the last route table without certificate PEMs (they hold private keys). */
function debugTable(): object {
  const last = loop.last;
  if (!last) return {};
  return {
    ...last.table,
    certificates: last.table.certificates.map((c) => ({ secret: c.secret, hosts: c.hosts })),
    applied: last.applied,
  };
}

let synced = false;
async function main(): Promise<void> {
  const metricsPort = port('metrics-port', f['metrics-port'], true);
  if (metricsPort > 0) {
    await serveMetrics({
      host: f['metrics-host'] as string,
      port: metricsPort,
      registry: metrics.registry,
      ready: () => synced && loop.ready,
      extra: async (path) =>
        path === '/debug/table' ? { status: 200, body: JSON.stringify(debugTable()) } : undefined,
    });
  }
  watch.onChange(() => {
    if (synced) loop.trigger();
  });
  await watch.start();
  await watch.synced();
  synced = true;
  log.info(
    {
      namespace,
      service: serviceName,
      class: className,
      controller: controllerName,
      ingresses: watch.ingresses.list().length,
      runDir,
    },
    'caches synced',
  );
  await loop.run();
  if (leaderElect) {
    elector = new LeaderElector(kc, {
      namespace,
      name: f['lease-name'] as string,
      identity,
      leaseDurationSeconds: Number(f['lease-duration']),
      renewDeadlineSeconds: Number(f['renew-deadline']),
      retryPeriodSeconds: Number(f['retry-period']),
      log,
      onStartedLeading: () => {
        metrics.isLeader.set(1);
        loop.trigger(0);
      },
      // Traffic never depends on the Lease: a replica that loses it only stops writing (isLeader fences).
      onStoppedLeading: () => metrics.isLeader.set(0),
    });
    elector.start();
  } else {
    metrics.isLeader.set(1);
  }
}

let shuttingDown = false;
async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info({ signal }, 'shutting down');
  const stopped = loop.stop(); // first, so nothing restarts HAProxy or writes from here on
  await watch.stop().catch(() => undefined);
  await elector?.stop();
  await stopped;
  log.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

main().catch((err: unknown) => {
  log.fatal({ err: errorMessage(err) }, 'ingress failed to start');
  void loop.stop().finally(() => process.exit(1));
});
