// ironlb — the operator's command line: a dry run of pool changes, and "why is my Service pending / who
// announces my address" answers, read from the cluster. Reads only; never writes.
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { reportedProblems } from '../src/config/conditions.ts';
import { parseConfig } from '../src/config/parse.ts';
import { planPoolChange, type PlanEntry } from '../src/allocator/plan.ts';
import { isOurs, toServiceView } from '../src/service/view.ts';
import { poolOfAddress } from '../src/announce/l2plan.ts';
import { POOL_ANNOTATION } from '../src/contracts/annotations.ts';
import { decodeConflict, describeConflict } from '../src/contracts/conflict.ts';
import { CONFIG_RESOURCES, RESOURCES, type Resource } from '../src/contracts/resources.ts';
import { gatewayServiceName } from '../src/gateway/build.ts';
import { GATEWAY_GROUP, type HTTPRouteObject } from '../src/gateway/types.ts';
import { explainGateway, type GatewayWhyInput } from '../src/gateway/why.ts';

const USAGE = `Usage: ironlb <command> [options]     (node bin/ironlb.ts …)

Commands:
  plan -f FILE [--delete POOL]…   what applying FILE (IPAddressPool objects, multi-document YAML) and deleting
                                  the named pools would do to every LoadBalancer Service: keep, change, lose,
                                  gain or stay pending, and why. Nothing is applied.
        --live                    read the current pools, Services and Namespaces from the cluster (default)
        --current FILE --services FILE   work offline from files instead (pools; Services as a List or docs)
  why NAMESPACE/NAME              why a Service is pending, or where its addresses come from and who announces them;
                                  also what is wrong in the configuration it depends on (an advertisement naming a
                                  missing pool, a BGPPeer naming a missing BFDProfile or password Secret, …)
  why gateway/NAMESPACE/NAME      a Gateway: its address, the Service it comes from and who announces it, the
                                  conditions of the Gateway, its listeners and the HTTPRoutes naming it
  who ADDRESS                     which Service holds an address, its pool, and which node announces it

Options:
  --kubeconfig FILE   (KUBECONFIG, else in-cluster)
  --namespace NS      namespace of the metallb.io objects (ironlb-system) [IRONLB_NAMESPACE]
  --lb-class NAME     the controller's --lb-class, if it has one
  -o, --output FMT    table (default) or json
  -h, --help          this text`;

const { values: f, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    kubeconfig: { type: 'string', default: process.env.KUBECONFIG },
    namespace: { type: 'string', default: process.env.IRONLB_NAMESPACE ?? 'ironlb-system' },
    'lb-class': { type: 'string' },
    file: { type: 'string', short: 'f' },
    delete: { type: 'string', multiple: true, default: [] },
    live: { type: 'boolean', default: false },
    current: { type: 'string' },
    services: { type: 'string' },
    output: { type: 'string', short: 'o', default: 'table' },
    help: { type: 'boolean', short: 'h' },
  },
});
const [command, arg] = positionals;
if (f.help || !command) {
  console.log(USAGE);
  process.exit(f.help ? 0 : 2);
}

type Obj = Record<string, unknown> & { kind?: string; metadata?: { name?: string; namespace?: string } };

function readDocs(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`"${file}": ${d.errors[0]?.message}`);
    return d.toJS() as Obj | null;
  });
  return docs.flatMap((d) =>
    d === null ? [] : d.kind === 'List' || d.kind?.endsWith('List') ? ((d.items as Obj[]) ?? []) : [d],
  );
}

let kcCache: k8s.KubeConfig | undefined;
function kc(): k8s.KubeConfig {
  if (kcCache) return kcCache;
  kcCache = new k8s.KubeConfig();
  if (f.kubeconfig) kcCache.loadFromFile(f.kubeconfig);
  else kcCache.loadFromCluster();
  return kcCache;
}

async function livePools(): Promise<Obj[]> {
  const custom = kc().makeApiClient(k8s.CustomObjectsApi);
  const list = (await custom.listNamespacedCustomObject({
    group: RESOURCES.IPAddressPool.group,
    version: RESOURCES.IPAddressPool.version,
    namespace: f.namespace as string,
    plural: RESOURCES.IPAddressPool.plural,
  })) as { items: Obj[] };
  return list.items.map((o) => ({ ...o, kind: 'IPAddressPool' }));
}

/** liveConfig reads every metallb.io configuration object of the namespace, each with its kind. */
async function liveConfig(): Promise<Obj[]> {
  const custom = kc().makeApiClient(k8s.CustomObjectsApi);
  const lists = await Promise.all(
    CONFIG_RESOURCES.map(async (r) => {
      const list = (await custom.listNamespacedCustomObject({
        group: r.group,
        version: r.version,
        namespace: f.namespace as string,
        plural: r.plural,
      })) as { items: Obj[] };
      return list.items.map((o) => ({ ...o, kind: r.kind }));
    }),
  );
  return lists.flat();
}

/**
 * configNotes lists what the parse step says about the configuration a Service depends on: the problems and
 * dangling references of its pool and of every advertisement and peer (an L2Advertisement naming a missing
 * pool, a BGPPeer naming a missing BFDProfile: each would leave the Service's address unannounced).
 */
function configNotes(objects: Obj[], pool: string | undefined): string[] {
  const { problems, warnings } = parseConfig(objects, {
    namespace: f.namespace as string,
    secretsRead: false,
  });
  // what only the controller can see (a BGPPeer's password Secret: this command reads no Secrets), from the
  // Valid conditions it wrote; the same message found by both is shown once
  const seen = new Set([...problems, ...warnings].map((p) => p.message));
  const reported = reportedProblems(objects).filter((p) => !seen.has(p.message));
  return [...problems, ...warnings, ...reported]
    .filter((p) => p.kind !== 'IPAddressPool' || p.name === pool)
    .map((p) => `${p.retryable ? 'unresolved' : 'invalid'}: ${p.message}`);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function plan(): Promise<void> {
  if (!f.file && f.delete.length === 0) throw new Error('plan needs -f FILE and/or --delete POOL');
  const changed = f.file ? readDocs(f.file).filter((o) => o.kind === 'IPAddressPool') : [];
  if (f.file && changed.length === 0) throw new Error(`"${f.file}" holds no IPAddressPool`);
  let current: Obj[];
  let services: k8s.V1Service[];
  let nsLabels = new Map<string, Record<string, string>>();
  if (f.current || f.services) {
    if (!f.current || !f.services) throw new Error('offline plan needs both --current and --services');
    current = readDocs(f.current).filter((o) => o.kind === 'IPAddressPool');
    services = readDocs(f.services).filter((o) => o.kind === 'Service') as k8s.V1Service[];
  } else {
    current = await livePools();
    const core = kc().makeApiClient(k8s.CoreV1Api);
    services = (await core.listServiceForAllNamespaces()).items;
    nsLabels = new Map(
      (await core.listNamespace()).items.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}]),
    );
  }
  const name = (o: Obj) => o.metadata?.name ?? '';
  const replaced = new Set([...changed.map(name), ...f.delete]);
  const next = [...current.filter((o) => !replaced.has(name(o))), ...changed];
  const opts = { namespace: f.namespace as string };
  const before = parseConfig(current, opts);
  const after = parseConfig(next, opts);
  const problems = after.problems.filter(
    (p) => replaced.has(p.name) || !before.problems.some((q) => q.message === p.message),
  );
  const lb = services.filter(
    (s) =>
      s.spec?.type === 'LoadBalancer' &&
      isOurs({ loadBalancerClass: s.spec?.loadBalancerClass }, f['lb-class']),
  );
  const entries: PlanEntry[] = planPoolChange(before.config, after.config, {
    services: lb.map((s) => ({
      view: toServiceView(s),
      namespaceLabels: nsLabels.get(s.metadata?.namespace ?? '') ?? {},
    })),
  });
  if (f.output === 'json') {
    console.log(JSON.stringify({ problems, services: entries }, null, 2));
    return;
  }
  for (const p of problems) console.log(`${p.retryable ? 'warning' : 'REJECTED'}: ${p.message}`);
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.outcome, (counts.get(e.outcome) ?? 0) + 1);
  console.log(
    table([
      ['SERVICE', 'OUTCOME', 'BEFORE', 'AFTER', 'REASON'],
      ...entries.map((e) => [
        e.key,
        e.outcome,
        [e.beforePool, e.before.join(',')].filter(Boolean).join(':') || '-',
        [e.afterPool, e.after.join(',')].filter(Boolean).join(':') || '-',
        e.reason ?? '',
      ]),
    ]),
  );
  console.log(
    `\n${entries.length} Services: ${[...counts].map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}. Nothing was applied.`,
  );
  if (problems.some((p) => !p.retryable)) process.exitCode = 1;
}

async function statusObjects(r: Resource): Promise<Obj[]> {
  const custom = kc().makeApiClient(k8s.CustomObjectsApi);
  return (
    (await custom.listNamespacedCustomObject({
      group: r.group,
      version: r.version,
      namespace: f.namespace as string,
      plural: r.plural,
    })) as { items: Obj[] }
  ).items;
}

function announcers(l2: Obj[], bgp: Obj[], ns: string, name: string): string[] {
  const mine = (o: Obj) => {
    const st = o.status as { serviceName?: string; serviceNamespace?: string } | undefined;
    return st?.serviceName === name && st?.serviceNamespace === ns;
  };
  return [
    ...l2.filter(mine).map((o) => {
      const st = o.status as { node: string; interfaces?: { name: string }[] };
      return `${st.node} (layer2${st.interfaces?.length ? ` on ${st.interfaces.map((i) => i.name).join(',')}` : ''})`;
    }),
    ...bgp.filter(mine).map((o) => {
      const st = o.status as { node: string; peers?: string[] };
      return `${st.node} (bgp${st.peers?.length ? ` to ${st.peers.join(',')}` : ''})`;
    }),
  ];
}

async function whyGateway(key: string): Promise<void> {
  const [ns, name] = key.split('/');
  if (!ns || !name) throw new Error(`"gateway/${key}" is not gateway/NAMESPACE/NAME`);
  const custom = kc().makeApiClient(k8s.CustomObjectsApi);
  const gateway = (await custom
    .getNamespacedCustomObject({
      group: GATEWAY_GROUP,
      version: 'v1',
      namespace: ns,
      plural: 'gateways',
      name,
    })
    .catch((e: unknown) => {
      if (e instanceof k8s.ApiException && e.code === 404)
        throw new Error(`Gateway "${ns}/${name}" not found`);
      throw e;
    })) as GatewayWhyInput['gateway'];
  const svcName = gatewayServiceName(name);
  const svc = await kc()
    .makeApiClient(k8s.CoreV1Api)
    .readNamespacedService({ name: svcName, namespace: ns })
    .catch((e: unknown) => {
      if (e instanceof k8s.ApiException && e.code === 404) return undefined;
      throw e;
    });
  const ips = (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);
  const routes: (HTTPRouteObject & { kind?: string })[] = [];
  for (const [kind, plural] of [
    ['HTTPRoute', 'httproutes'],
    ['GRPCRoute', 'grpcroutes'],
    ['TLSRoute', 'tlsroutes'],
  ] as const) {
    // a kind the API server does not serve (older Gateway API CRDs) names no route
    const list = (await custom
      .listClusterCustomObject({ group: GATEWAY_GROUP, version: 'v1', plural })
      .catch((e: unknown) => {
        if (e instanceof k8s.ApiException && e.code === 404) return { items: [] };
        throw e;
      })) as { items: HTTPRouteObject[] };
    routes.push(...list.items.map((r) => ({ ...r, kind })));
  }
  const lines = explainGateway({
    gateway,
    service: svc && { name: svcName, ips, pool: svc.metadata?.annotations?.[POOL_ANNOTATION] },
    announcers: ips.length
      ? announcers(
          await statusObjects(RESOURCES.ServiceL2Status),
          await statusObjects(RESOURCES.ServiceBGPStatus),
          ns,
          svcName,
        )
      : [],
    routes,
  });
  console.log(lines.join('\n'));
}

async function why(key: string): Promise<void> {
  if (key.startsWith('gateway/')) return whyGateway(key.slice('gateway/'.length));
  const [ns, name] = key.split('/');
  if (!ns || !name) throw new Error(`"${key}" is not NAMESPACE/NAME`);
  const core = kc().makeApiClient(k8s.CoreV1Api);
  const svc = await core.readNamespacedService({ name, namespace: ns });
  const events = (
    await core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: `involvedObject.kind=Service,involvedObject.name=${name}`,
    })
  ).items.sort(
    (a, b) =>
      new Date(a.lastTimestamp ?? a.eventTime ?? 0).getTime() -
      new Date(b.lastTimestamp ?? b.eventTime ?? 0).getTime(),
  );
  const lines: string[] = [];
  const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);
  if (svc.spec?.type !== 'LoadBalancer')
    lines.push(`Service "${key}" is of type ${svc.spec?.type}: IronLB only serves type LoadBalancer`);
  else if (!isOurs({ loadBalancerClass: svc.spec?.loadBalancerClass }, f['lb-class']))
    lines.push(
      `Service "${key}" has loadBalancerClass "${svc.spec?.loadBalancerClass}": another load balancer implementation serves it`,
    );
  else if (ips.length === 0) {
    const failed = events.filter((e) => e.reason === 'AllocationFailed').at(-1);
    lines.push(
      `Service "${key}" is pending: ${failed?.message ?? 'no AllocationFailed event yet: is the IronLB controller running?'}`,
    );
  } else {
    lines.push(
      `Service "${key}" holds ${ips.join(', ')} from pool "${svc.metadata?.annotations?.[POOL_ANNOTATION] ?? '?'}"`,
    );
    const who = announcers(
      await statusObjects(RESOURCES.ServiceL2Status),
      await statusObjects(RESOURCES.ServiceBGPStatus),
      ns,
      name,
    );
    lines.push(
      who.length
        ? `announced by: ${who.join('; ')}`
        : "announced by: nobody (no ready endpoints, no advertisement for its pool, or no eligible node: see the speakers' /debug/plan)",
    );
  }
  const notes = configNotes(await liveConfig(), svc.metadata?.annotations?.[POOL_ANNOTATION]);
  if (notes.length) {
    lines.push('configuration:');
    for (const n of notes) lines.push(`  ${n}`);
  }
  const conflict = decodeConflict(svc.status?.conditions);
  if (conflict)
    lines.push(
      `address conflict: ${describeConflict(conflict)} (${conflict.active ? 'active' : 'Reassigned'})`,
    );
  if (events.length) {
    lines.push('recent events:');
    for (const e of events.slice(-6))
      lines.push(`  ${e.type} ${e.reason}: ${e.message}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}`);
  }
  console.log(lines.join('\n'));
}

async function who(ip: string): Promise<void> {
  const core = kc().makeApiClient(k8s.CoreV1Api);
  const holders = (await core.listServiceForAllNamespaces()).items.filter((s) =>
    (s.status?.loadBalancer?.ingress ?? []).some((i) => i.ip === ip),
  );
  const { config } = parseConfig(await livePools(), { namespace: f.namespace as string });
  const pool = poolOfAddress(config, ip);
  if (holders.length === 0) {
    console.log(`${ip} is held by no Service${pool ? ` (it is in pool "${pool}")` : ' and is in no pool'}`);
    return;
  }
  const l2 = await statusObjects(RESOURCES.ServiceL2Status);
  const bgp = await statusObjects(RESOURCES.ServiceBGPStatus);
  for (const s of holders) {
    const ns = s.metadata?.namespace ?? '';
    const name = s.metadata?.name ?? '';
    const a = announcers(l2, bgp, ns, name);
    console.log(
      `${ip}: Service "${ns}/${name}", pool "${pool ?? s.metadata?.annotations?.[POOL_ANNOTATION] ?? '?'}", announced by ${a.length ? a.join('; ') : 'nobody'}`,
    );
  }
}

async function main(): Promise<void> {
  switch (command) {
    case 'plan':
      return plan();
    case 'why':
      if (!arg) throw new Error('why needs NAMESPACE/NAME');
      return why(arg);
    case 'who':
      if (!arg) throw new Error('who needs an ADDRESS');
      return who(arg);
    default:
      throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main().catch((e: unknown) => {
  const msg =
    e instanceof k8s.ApiException
      ? `HTTP ${e.code}: ${typeof e.body === 'string' ? e.body : JSON.stringify(e.body)}`
      : e instanceof Error
        ? e.message
        : String(e);
  console.error(`ironlb: ${msg}`);
  process.exit(1);
});
