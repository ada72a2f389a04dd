// The controller as an application: createController wires the informers, the Service reconciler, the pool
// reconciler and the webhook to the dependencies it is given. Every write goes through a keyed work queue with
// per-key backoff: Services on one (keys "namespace/name"), pool status, configuration and conflict expiry on
// another (keys "pool/<name>", "config", "conflicts"); nothing retries on a bare timer.
import * as k8s from '@kubernetes/client-node';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventRecorder, serviceTarget } from '../edge/events.ts';
import { Informer, errorMessage, metallbInformer, serviceInformer } from '../edge/informer.ts';
import type { App, ProgramDeps } from '../edge/program.ts';
import { DONE, WorkQueue, type ReconcileResult } from '../edge/workqueue.ts';
import { CONFIG_RESOURCES, RESOURCES, apiVersionOf } from '../src/contracts/resources.ts';
import type { ControllerMetrics } from './metrics.ts';
import { ServiceController, keyOf } from './service-controller.ts';
import { serveWebhook } from './webhook.ts';
import { ensureWebhookCert } from './webhook-cert.ts';
import {
  ApiStatusWriter,
  FIELD_MANAGER,
  PoolStatusWriter,
  poolStatusBody,
  type PoolStatusBody,
} from './writers.ts';
import { apiConditionWriter, ConfigReporter } from './config-report.ts';
import { ParseCache, parseConfig } from '../src/config/parse.ts';
import { slimService } from '../src/service/view.ts';
import { passwordSecretNames, redactSecret } from '../src/config/secret.ts';

/** ControllerOptions are the controller's settings (from flags). */
export interface ControllerOptions {
  namespace: string;
  lbClass?: string;
  /** identity: this replica's name (Event source host). */
  identity: string;
  workers: number;
  conflictHoldMs: number;
  webhook: {
    port: number;
    host: string;
    certFile?: string;
    keyFile?: string;
    secret?: string;
    service: string;
    configuration: string;
  };
}

/** POOL_STATUS_DELAY_MS batches pool status after a burst of assignments (one write per pool per burst). */
const POOL_STATUS_DELAY_MS = 300;
/** CONFIG_DELAY_MS batches a burst of pool edits into one parse. */
const CONFIG_DELAY_MS = 50;
/** CONFLICT_SWEEP_MS: how often addresses avoided for a conflict are checked against the hold time. */
const CONFLICT_SWEEP_MS = 60_000;

type Obj = k8s.KubernetesObject & { spec?: unknown; status?: unknown };

/** sameStatus reports whether a written pool status already says what body says (so no write is needed). */
function sameStatus(prev: PoolStatusBody | undefined, body: PoolStatusBody): boolean {
  const conds = (s: PoolStatusBody) =>
    JSON.stringify(s.conditions?.map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]));
  return (
    prev !== undefined &&
    prev.assignedIPv4 === body.assignedIPv4 &&
    prev.assignedIPv6 === body.assignedIPv6 &&
    prev.availableIPv4 === body.availableIPv4 &&
    prev.availableIPv6 === body.availableIPv6 &&
    conds(prev) === conds(body)
  );
}

/**
 * createController builds the controller from its dependencies: start() syncs the caches, then serves the
 * webhook (so its cross-object checks never see empty caches) and starts the work queues; lead() restores
 * every Service's addresses and reconciles them all.
 */
export function createController(deps: ProgramDeps<ControllerMetrics>, o: ControllerOptions): App {
  const { kube: kc, clock, log, metrics, lease } = deps;
  const { namespace } = o;
  const recorder = new EventRecorder(kc, { component: 'ironlb-controller', host: o.identity, log, clock });
  // A Service whose reconcile keeps failing (its writes refused, say) would stay pending with only log lines
  // to show for it: from the third failure in a row it gets a Warning Event saying why (once per message).
  const failures = new Map<string, { count: number; evented?: string }>();
  const queue = new WorkQueue({
    clock,
    onError: (key, err, retryInMs) => {
      metrics.reconciles.inc({ result: 'error' });
      const message = errorMessage(err);
      log.warn({ service: key, err: message, retryInMs }, 'reconcile failed');
      const f = failures.get(key) ?? { count: 0 };
      f.count++;
      failures.set(key, f);
      const [ns, name] = key.split('/');
      const svc = services.get(name ?? '', ns);
      if (f.count >= 3 && f.evented !== message && svc && canWrite()) {
        f.evented = message;
        recorder.event(
          serviceTarget(svc),
          'Warning',
          'ReconcileFailed',
          `Could not converge Service "${key}" (${f.count} attempts${retryInMs !== undefined ? `, retrying in ${Math.round(retryInMs / 1000)} s` : ''}): ${message}`,
        );
      }
    },
  });
  const pooled = new WorkQueue({
    clock,
    onError: (key, err, retryInMs) =>
      key.startsWith('pool/')
        ? log.warn({ pool: key.slice(5), err: errorMessage(err), retryInMs }, 'could not write pool status')
        : log.warn({ key, err: errorMessage(err), retryInMs }, 'reconcile failed'),
  });
  const canWrite = () => lease.isLeader();
  // leading: between lead() and unlead(). Events are queued on this, not on canWrite(): canWrite() is also
  // false for a moment while a slow Lease renewal is in flight, and an event dropped then was never seen again
  // (21 of 1,000 Services stayed pending in the controller bench on a loaded machine). The reconcile itself
  // checks canWrite() and comes back a second later.
  let leading = false;

  const crd = (r: (typeof CONFIG_RESOURCES)[number]) =>
    metallbInformer<Obj>(kc, { namespace, resource: r, log });
  // the cache keeps only what allocation, status writes and Events read of a Service (slimService): it grows
  // with the number of Services in the cluster, of any type
  const services = serviceInformer(kc, log, { transform: slimService });
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const namespaces = new Informer<k8s.V1Namespace>(kc, {
    name: 'namespaces',
    path: '/api/v1/namespaces',
    list: () => core.listNamespace(),
    log,
  });
  const pools = crd(RESOURCES.IPAddressPool);
  const others = CONFIG_RESOURCES.filter((r) => r !== RESOURCES.IPAddressPool).map(crd);
  const kinds = Object.fromEntries(CONFIG_RESOURCES.map((r) => [r.plural, r.kind]));
  const peers = others.find((inf) => inf.name === RESOURCES.BGPPeer.plural);
  // Secrets of our own namespace only (a namespaced Role), to report a BGPPeer whose password Secret is
  // missing, of the wrong type or without its key. Cached redacted: key names, never a value. Start does not
  // wait for it: with RBAC from before this watch (no Secret list/watch) the controller still allocates, and
  // until the list succeeds passwordSecrets are reported as before (not at all); the refusal is logged once,
  // naming the missing permission, and once more when the watch is allowed again.
  const secrets = new Informer<k8s.V1Secret>(kc, {
    name: 'secrets',
    path: `/api/v1/namespaces/${namespace}/secrets`,
    list: () => core.listNamespacedSecret({ namespace }),
    transform: (s) => redactSecret(s) as k8s.V1Secret,
    refusedHint:
      `the controller needs list and watch on secrets in namespace "${namespace}" to check BGPPeer password ` +
      `Secrets: apply deploy/'s Role ironlb-controller (kubectl apply -k deploy); allocation goes on meanwhile`,
    log,
  });
  let secretsSynced = false;
  void secrets.synced.then(() => {
    secretsSynced = true;
    pooled.addAfter('report', CONFIG_DELAY_MS);
  });
  const informers = [services, namespaces, pools, ...others];
  for (const inf of [...informers, secrets])
    inf.onError = () => metrics.watchRestarts.inc({ resource: inf.name });

  const schedulePoolStatus = () => {
    for (const p of pools.list()) pooled.addAfter(`pool/${p.metadata?.name ?? ''}`, POOL_STATUS_DELAY_MS);
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
    enqueue: (key) => {
      if (leading) queue.add(key);
    },
    canWrite,
    lbClass: o.lbClass,
    namespace,
    log,
    conflictHoldMs: o.conflictHoldMs,
    now: () => clock.now(),
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

  // --- configuration: parse the pools after every change, report rejected ones once per message ------------
  const reportedProblems = new Map<string, string>();
  const reconcileConfig = (): ReconcileResult => {
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
    return DONE;
  };

  // --- pool status: metrics always, the status subresource only from the leader, only when it differs -------
  const poolWriter = new PoolStatusWriter(kc);
  const reconcilePool = async (name: string): Promise<ReconcileResult> => {
    metrics.pendingServices.set(controller.pending.size);
    const obj = pools.get(name, namespace);
    if (!obj) return DONE;
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
    if (!canWrite()) return DONE;
    const prev = obj.status as PoolStatusBody | undefined;
    const conflicts = [...controller.conflicts.values()]
      .filter((c) => controller.allocator.poolOf(c.ip) === name)
      .map((c) => ({
        address: c.ip,
        reason: 'AddressInUse',
        detectedBy: c.detectedBy,
        lastSeen: new Date(c.at).toISOString(),
      }));
    const problem = controller.problems.find((p) => p.name === name);
    const body = poolStatusBody(
      st,
      problem,
      prev,
      new Date(clock.now()),
      obj.metadata?.generation,
      conflicts,
    );
    if (!sameStatus(prev, body)) await poolWriter.write(namespace, name, body);
    return DONE;
  };

  // --- every configuration object: a Valid condition and Events for what the parse step rejects or cannot
  // resolve (an advertisement naming a missing pool, a BGPPeer naming a missing BFDProfile, …)
  const configObjects = () =>
    [pools, ...others].flatMap((inf) =>
      inf.list().map((o) => ({ ...(o as Record<string, unknown>), kind: kinds[inf.name] as string })),
    );
  const configReporter = new ConfigReporter({
    namespace,
    write: apiConditionWriter(kc, FIELD_MANAGER),
    recorder,
    canWrite,
    log,
    clock,
  });
  // Every pool status write comes back as a pool update and asks for a report: the cache keeps what each
  // unchanged object parses to, so a report re-parses only the objects that changed. A standby parses
  // nothing (lead() asks for a report); a leader whose renewal is in flight comes back a second later.
  const reportCache = new ParseCache();
  const reconcileReport = async (): Promise<ReconcileResult> => {
    if (!canWrite()) return leading ? { requeueAfterMs: 1000 } : DONE;
    const objects = configObjects();
    const result = secretsSynced
      ? parseConfig([...objects, ...secrets.list()], { namespace, secretsRead: true, cache: reportCache })
      : parseConfig(objects, { namespace, secretsRead: false, cache: reportCache });
    const ok = await configReporter.report(objects, result);
    if (!ok) throw new Error('some Valid conditions could not be written');
    return DONE;
  };

  // addresses avoided because of a conflict become usable again after the hold time
  const reconcileConflicts = (): ReconcileResult => {
    if (canWrite() && controller.expireConflicts().length) schedulePoolStatus();
    return { requeueAfterMs: CONFLICT_SWEEP_MS };
  };

  const enqueueSvc = (svc: k8s.V1Service) => {
    if (leading) queue.add(keyOf(svc));
  };
  for (const verb of ['add', 'update', 'delete'] as const) {
    services.on(verb, enqueueSvc);
    pools.on(verb, () => pooled.addAfter('config', CONFIG_DELAY_MS));
    for (const inf of [pools, ...others]) inf.on(verb, () => pooled.addAfter('report', CONFIG_DELAY_MS));
    // only a Secret some BGPPeer names can change a report (the webhook's certificate rotating cannot)
    secrets.on(verb, (s) => {
      if (passwordSecretNames(peers?.list() ?? []).has(s.metadata?.name ?? ''))
        pooled.addAfter('report', CONFIG_DELAY_MS);
    });
  }
  namespaces.on('update', (ns) => {
    for (const svc of services.list(ns.metadata?.name)) enqueueSvc(svc);
  });

  let ready = false;
  return {
    ready: () => ready,

    async debug(path) {
      return path === '/debug/pending'
        ? { status: 200, body: JSON.stringify(Object.fromEntries(controller.pending)) }
        : undefined;
    },

    async start() {
      void secrets.start();
      await Promise.all(informers.map((i) => i.start()));
      await Promise.all(informers.map((i) => i.synced));
      controller.setPools(pools.list());
      metrics.configLoaded.set(1);
      await startWebhook();
      ready = true;
      log.info(
        {
          namespace,
          lbClass: o.lbClass ?? null,
          services: services.list().length,
          pools: pools.list().length,
        },
        'caches synced',
      );
      void queue.run(async (key) => {
        const r = await controller.reconcile(key);
        failures.delete(key);
        metrics.reconciles.inc({ result: 'ok' });
        return r;
      }, o.workers);
      void pooled.run(async (key) => {
        if (key === 'config') return reconcileConfig();
        if (key === 'conflicts') return reconcileConflicts();
        if (key === 'report') return reconcileReport();
        return reconcilePool(key.slice('pool/'.length));
      });
      pooled.addAfter('conflicts', CONFLICT_SWEEP_MS);
    },

    lead() {
      leading = true;
      metrics.isLeader.set(1);
      // status is the state of record: take back what Services already hold, then reconcile those first
      const restored = controller.restoreAll();
      for (const key of restored) queue.add(key);
      for (const svc of services.list()) queue.add(keyOf(svc));
      log.info({ restored: restored.length, services: services.list().length }, 'reconciling as leader');
      schedulePoolStatus();
      pooled.add('report');
    },

    unlead() {
      leading = false;
      // never write again from this process: the shell exits and the restart comes back as a standby
      metrics.isLeader.set(0);
      log.error('lost the leader Lease; exiting so no two replicas ever write at once');
    },

    async stop(signal) {
      log.info({ signal }, 'shutting down');
      queue.shutDown();
      pooled.shutDown();
    },
  };

  async function startWebhook(): Promise<void> {
    const w = { ...o.webhook };
    if (w.port > 0 && !w.certFile && w.secret) {
      const files = await ensureWebhookCert(kc, {
        namespace,
        secret: w.secret,
        service: w.service,
        configuration: w.configuration,
        dir: mkdtempSync(join(tmpdir(), 'ironlb-webhook-')),
        log,
      });
      w.certFile = files.certFile;
      w.keyFile = files.keyFile;
    }
    if (w.port > 0 && w.certFile && w.keyFile) {
      await serveWebhook({
        port: w.port,
        host: w.host,
        certFile: w.certFile,
        keyFile: w.keyFile,
        namespace,
        existing: configObjects,
        log,
        clock,
      });
      log.info({ port: w.port }, 'webhook serving');
    } else if (w.port > 0) {
      log.info('webhook disabled: no --webhook-cert/--webhook-key');
    }
  }
}
