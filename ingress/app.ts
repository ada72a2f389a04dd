// The ingress proxy's control plane as an application: createIngress wires the watch, the reconcile loop
// (IngressLoop: route table → HAProxy, Events, Ingress status) and HAProxy's statistics to the dependencies
// it is given. Every replica serves traffic; only the holder of the Lease writes Events and status.
import * as k8s from '@kubernetes/client-node';
import { join } from 'node:path';
import { EventRecorder } from '../edge/events.ts';
import type { App, ProgramDeps } from '../edge/program.ts';
import { IngressLoop, type StatusWriter } from './controller.ts';
import { startDataplane } from './dataplane.ts';
import { sendCommand } from './haproxy-cli.ts';
import { parseFrontendStats, type IngressMetrics } from './metrics.ts';
import { createIngressWatch } from './watch.ts';
import type { PortRange } from '../src/gateway/build.ts';
import { GatewayController } from './gateway.ts';
import { createGatewayWatch, gatewayApiServed } from './gateway-watch.ts';

/** IngressOptions are the ingress settings (from flags). */
export interface IngressOptions {
  namespace: string;
  /** service: the own LoadBalancer Service whose address goes into Ingress status. */
  service: string;
  /** className: the IngressClass served even before (or without) its object. */
  className: string;
  /** controller: spec.controller of the IngressClasses served. */
  controller: string;
  watchWithoutClass: boolean;
  identity: string;
  runDir: string;
  haproxy: string;
  binds: string[];
  httpPort: number;
  /** httpsPort: 0 disables TLS. */
  httpsPort: number;
  publicHttpPort: number;
  publicHttpsPort: number;
  debounceMs: number;
  /** gatewayController: GatewayClass controllerName served; "" turns the Gateway API off. */
  gatewayController?: string;
  gatewayHttpPorts?: PortRange;
  gatewayHttpsPorts?: PortRange;
  /** gatewayPassthroughPorts: proxy ports of listener ports with a TLS passthrough listener. */
  gatewayPassthroughPorts?: PortRange;
}

/** bindArg is HAProxy's bind address for addr:port or a port range ("::" listens on IPv6 only, IPv4 has its own bind). */
export function bindArg(addr: string, port: number | string): string {
  return addr.includes(':') ? `[${addr}]:${port}${addr === '::' ? ' v6only' : ''}` : `${addr}:${port}`;
}

/** createIngress builds the ingress from its dependencies; start() syncs the caches and serves. */
export function createIngress(deps: ProgramDeps<IngressMetrics>, o: IngressOptions): App {
  const { kube: kc, clock, log, metrics, lease } = deps;
  const networking = kc.makeApiClient(k8s.NetworkingV1Api);
  const recorder = new EventRecorder(kc, { component: 'ironlb-ingress', host: o.identity, log, clock });
  const watch = createIngressWatch(kc, { log });
  for (const inf of watch.all) inf.onError = () => metrics.watchRestarts.inc({ resource: inf.name });
  // Gateway API: on when a controller name is set and (checked at start) its CRDs are installed.
  const gwRanges = {
    http: o.gatewayHttpPorts ?? { first: 10000, last: 10063 },
    https: o.gatewayHttpsPorts ?? { first: 10064, last: 10127 },
    passthrough: o.gatewayPassthroughPorts ?? { first: 10128, last: 10191 },
  };
  const gwWatch = o.gatewayController ? createGatewayWatch(kc, { log }) : undefined;
  for (const inf of gwWatch?.all ?? []) inf.onError = () => metrics.watchRestarts.inc({ resource: inf.name });
  const gateways = gwWatch
    ? new GatewayController({
        kube: kc,
        watch: gwWatch,
        proxyService: { namespace: o.namespace, name: o.service },
        ...(o.gatewayController ? { controllerName: o.gatewayController } : {}),
        httpPorts: gwRanges.http,
        httpsPorts: gwRanges.https,
        tlsPorts: gwRanges.passthrough,
        log: log.child({ part: 'gateway' }),
        clock,
      })
    : undefined;
  let gatewayOn = false;
  const range = (a: string, r: PortRange): string => bindArg(a, `${r.first}-${r.last}`);

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
      if (snap.ingressClasses.some((c) => c.metadata?.name === o.className)) return snap;
      return {
        ...snap,
        ingressClasses: [
          ...snap.ingressClasses,
          { metadata: { name: o.className }, spec: { controller: o.controller } },
        ],
      };
    },
    ingresses: () => watch.ingresses.list(),
    ownService: () => watch.services.get(o.service, o.namespace),
    startDataplane: (table, onExit) =>
      startDataplane(table, {
        dir: o.runDir,
        clock,
        httpBinds: o.binds.map((a) => bindArg(a, o.httpPort)),
        httpsBinds: o.httpsPort > 0 ? o.binds.map((a) => bindArg(a, o.httpsPort)) : [],
        httpsPort: o.publicHttpsPort,
        publicHttpPort: o.publicHttpPort,
        ...(gatewayOn
          ? {
              gatewayHttpBinds: o.binds.map((a) => range(a, gwRanges.http)),
              gatewayHttpsBinds: o.binds.map((a) => range(a, gwRanges.https)),
              gatewayTlsBinds: o.binds.map((a) => range(a, gwRanges.passthrough)),
            }
          : {}),
        haproxyBin: o.haproxy,
        log: (entry) => log.info({ dataplane: entry }, typeof entry.msg === 'string' ? entry.msg : 'haproxy'),
        onExit,
      }),
    recorder,
    status: statusWriter,
    isLeader: () => lease.isLeader(),
    controller: o.controller,
    watchWithoutClass: o.watchWithoutClass,
    log,
    metrics,
    debounceMs: o.debounceMs,
    clock,
    extendTable: (table, snapshot, resolver) =>
      gatewayOn && gateways ? gateways.extend(table, snapshot, resolver) : table,
    writeMore: async () => (gatewayOn && gateways ? gateways.write() : true),
  });
  metrics.stats = async () =>
    loop.dataplane
      ? parseFrontendStats(await sendCommand(join(o.runDir, 'admin.sock'), 'show stat -1 1 -1', 2000, clock))
      : [];

  /** debugTable is the last route table without certificate PEMs (they hold private keys). */
  const debugTable = (): object => {
    const last = loop.last;
    if (!last) return {};
    return {
      ...last.table,
      certificates: last.table.certificates.map((c) => ({ secret: c.secret, hosts: c.hosts })),
      applied: last.applied,
    };
  };

  let synced = false;
  let stopped: Promise<void> | undefined;
  return {
    ready: () => synced && loop.ready,

    async debug(path) {
      return path === '/debug/table' ? { status: 200, body: JSON.stringify(debugTable()) } : undefined;
    },

    async start() {
      watch.onChange(() => {
        if (synced) loop.trigger();
      });
      await watch.start();
      if (gwWatch && (await gatewayApiServed(kc))) {
        gwWatch.onChange(() => {
          if (synced) loop.trigger();
        });
        await gwWatch.start();
        await gwWatch.synced();
        gatewayOn = true;
      } else if (gwWatch) {
        log.warn(
          {},
          'the Gateway API CRDs are not installed: serving Ingresses only (kubectl apply -k deploy installs them)',
        );
      }
      await watch.synced();
      synced = true;
      log.info(
        {
          namespace: o.namespace,
          service: o.service,
          class: o.className,
          controller: o.controller,
          ingresses: watch.ingresses.list().length,
          runDir: o.runDir,
        },
        'caches synced',
      );
      await loop.run();
    },

    lead() {
      metrics.isLeader.set(1);
      loop.trigger(0);
    },

    // Traffic never depends on the Lease: a replica that loses it only stops writing (the lease fences).
    unlead: () => metrics.isLeader.set(0),

    async stop(signal) {
      if (stopped) return stopped;
      log.info({ signal }, 'shutting down');
      const loopStopped = loop.stop(); // first, so nothing restarts HAProxy or writes from here on
      stopped = (async () => {
        await watch.stop().catch(() => undefined);
        await gwWatch?.stop().catch(() => undefined);
        await loopStopped;
        log.info('stopped');
      })();
      return stopped;
    },
  };
}
