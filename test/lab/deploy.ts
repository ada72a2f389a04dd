// What `make lab` deploys on top of the bare lab: the echo app, the lab's address pools, and IronLB's own
// controller and speakers (when their entry points exist).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { LAB, type Lab, type LabPod } from '../harness/netlab.ts';
import { labLivenessKey, labPools } from './install.ts';

export { labLivenessKey, labPools } from './install.ts';
import { ensureNamespace, waitForEndpoints } from '../harness/kube.ts';
import { nodeBin, repoRoot } from '../harness/paths.ts';

/** deployEcho starts one echo pod per node in namespace "demo" and a LoadBalancer Service "echo" for them. */
export async function deployEcho(
  lab: Lab,
  options: { log?: (m: string) => void; namespace?: string } = {},
): Promise<void> {
  const log = options.log ?? (() => {});
  const ns = options.namespace ?? 'demo';
  for (const n of lab.state.nodes) {
    await lab.addPod({
      namespace: ns,
      name: `echo-${n.index}`,
      node: n.index,
      labels: { app: 'echo' },
      port: 8080,
      env: { SERVICE_NAME: 'echo' },
    });
  }
  await lab.api.core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name: 'echo', namespace: ns },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'echo' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
    },
  });
  // the same pods behind a second Service whose address comes from the BGP pool (routed by the router)
  await lab.api.core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name: 'echo-bgp', namespace: ns, annotations: { 'metallb.io/address-pool': 'lab-bgp' } },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'echo' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
    },
  });
  await waitForEndpoints(lab.api, ns, 'echo', lab.state.nodes.length);
  log(
    `lab: echo app running (${lab.state.nodes.length} pods) behind Services "${ns}/echo" (L2) and ` +
      `"${ns}/echo-bgp" (BGP pool), type LoadBalancer`,
  );
}

/**
 * demonstrate waits for the echo Service's address and fetches it from the LAN client; returns a line to show
 * the user (or why it did not work).
 */
export async function demonstrate(
  lab: Lab,
  options: { namespace?: string; service?: string; timeoutMs?: number; from?: 'client' | 'ext' } = {},
): Promise<string> {
  const ns = options.namespace ?? 'demo';
  // from the LAN client an L2 address is shown with its neighbour entry; from behind the router, with its route
  const from = options.from ?? 'client';
  const name = options.service ?? 'echo';
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let ip: string | undefined;
  while (Date.now() < deadline && !ip) {
    const svc = await lab.api.core.readNamespacedService({ name, namespace: ns });
    ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
    if (!ip) await new Promise((r) => setTimeout(r, 250));
  }
  if (!ip) return `Service "${ns}/${name}" has no external address yet (see .lab/logs/controller.log)`;
  const url = ip.includes(':') ? `http://[${ip}]/` : `http://${ip}/`;
  while (Date.now() < deadline) {
    const r = await lab.exec(from, ['curl', '-s', '-m', '2', url], { check: false });
    if (r.code === 0) {
      const body = JSON.parse(r.stdout) as { pod: string; node: string };
      const how =
        from === 'client'
          ? `neighbour entry: ${(await lab.exec('client', ['ip', 'neigh', 'show', ip], { check: false })).stdout.trim()}`
          : `router route: ${(await lab.exec('router', ['ip', 'route', 'show', ip], { check: false })).stdout.replace(/\s+/g, ' ').trim()}`;
      return `curl ${url} from ${lab.ns(from)} → pod "${body.pod}" on ${body.node}; ${how}`;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return `Service "${ns}/${name}" holds ${ip} but it does not answer from ${lab.ns(from)} yet (see .lab/logs/speaker-*.log)`;
}

/** IronLBProcesses are the pids of what startIronLB started (-1 when not started). */
export interface IronLBProcesses {
  controller: number;
  /** speakers by node index (1-based). */
  speakers: Map<number, number>;
}

/** startSpeaker starts the speaker on node i with extra flags; returns its pid. */
export function startSpeaker(lab: Lab, i: number, extra: string[] = []): number {
  const n = lab.node(i);
  return lab.startProcess(
    `node-${i}`,
    `speaker-${i}`,
    [
      nodeBin,
      join(repoRoot, 'speaker/main.ts'),
      `--kubeconfig=${lab.state.labKubeconfig}`,
      `--node-name=${n.name}`,
      '--namespace=ironlb-system',
      ...extra,
    ],
    { IRONLB_LIVENESS_KEY: labLivenessKey(lab) },
  );
}

/** startController starts the controller in the core namespace with extra flags; returns its pid. */
export function startController(lab: Lab, extra: string[] = []): number {
  return lab.startProcess('core', 'controller', [
    nodeBin,
    join(repoRoot, 'controller/main.ts'),
    `--kubeconfig=${lab.state.labKubeconfig}`,
    '--namespace=ironlb-system',
    ...extra,
  ]);
}

/** startIronLB applies the lab pools and starts the controller in the core namespace and a speaker per node. */
export async function startIronLB(
  lab: Lab,
  options: { log?: (m: string) => void; speakerArgs?: string[]; controllerArgs?: string[] } = {},
): Promise<IronLBProcesses> {
  const procs: IronLBProcesses = { controller: -1, speakers: new Map() };
  const log = options.log ?? (() => {});
  const controller = join(repoRoot, 'controller/main.ts');
  const speaker = join(repoRoot, 'speaker/main.ts');
  const crds = (await lab.kubectl(['get', 'crd', '-o', 'name'])).includes('ipaddresspools.metallb.io');
  if (!crds) {
    log('lab: metallb.io CRDs not installed yet: the echo Service stays <pending>');
    return procs;
  }
  await lab.kubectl(['create', 'namespace', 'ironlb-system']).catch(() => '');
  await lab.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: labPools() }),
  );
  log(`lab: pools applied (L2 ${LAB.l2Pool}, ${LAB.l2PoolV6}; BGP ${LAB.bgpPool})`);
  if (existsSync(controller)) {
    procs.controller = startController(lab, options.controllerArgs);
    log('lab: IronLB controller started in ' + lab.ns('core'));
  } else log('lab: no controller yet (controller/main.ts): the echo Service stays <pending>');
  if (existsSync(speaker)) {
    for (const n of lab.state.nodes)
      procs.speakers.set(n.index, startSpeaker(lab, n.index, options.speakerArgs));
    log('lab: IronLB speakers started on every node');
  }
  return procs;
}

/** INGRESS_LAB names the lab's ingress objects: namespace, Service, pod label, IngressClass. */
export const INGRESS_LAB = {
  namespace: 'ironlb-system',
  service: 'ironlb-ingress',
  labels: { 'app.kubernetes.io/name': 'ironlb-ingress' },
  className: 'ironlb',
  controller: 'ironlb.io/ingress',
  metricsPort: 10254,
} as const;

/** IngressDeployment is what deployIngress started: its pods (one per node) and the Service's address. */
export interface IngressDeployment {
  pods: LabPod[];
  /** address is the ingress Service's load-balancer IPv4 address (undefined when none came in time). */
  address: string | undefined;
}

/**
 * deployIngress creates the IngressClass "ironlb" (default class), runs ingress/main.ts as lab pods (one per
 * chosen node, default 1 and 2; HAProxy listens on 8080/8443 in each pod) and their Service
 * "ironlb-system/ironlb-ingress" (LoadBalancer, externalTrafficPolicy Local, 80→8080, 443→8443), then waits
 * for the pods' endpoints and, when IronLB runs, for the Service's address.
 */
export async function deployIngress(
  lab: Lab,
  options: {
    nodes?: number[];
    log?: (m: string) => void;
    extraArgs?: string[];
    addressTimeoutMs?: number;
  } = {},
): Promise<IngressDeployment> {
  const log = options.log ?? (() => {});
  const { namespace, service, labels, className, controller } = INGRESS_LAB;
  const nodes = options.nodes ?? [1, 2].filter((i) => i <= lab.state.nodes.length);
  await ensureNamespace(lab.api, namespace);
  const ignoreExists = (e: unknown) => {
    if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
  };
  await lab.api.networking
    .createIngressClass({
      body: {
        metadata: { name: className, annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
        spec: { controller },
      },
    })
    .catch(ignoreExists);
  await lab.api.core
    .createNamespacedService({
      namespace,
      body: {
        metadata: { name: service, namespace },
        spec: {
          type: 'LoadBalancer',
          externalTrafficPolicy: 'Local',
          selector: { ...labels },
          ports: [
            { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
            { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
          ],
        },
      },
    })
    .catch(ignoreExists);
  const pods = await Promise.all(
    nodes.map((i) => {
      const name = `ironlb-ingress-${i}`;
      return lab.addPod({
        namespace,
        name,
        node: i,
        labels: { ...labels },
        port: 8080,
        argv: [
          nodeBin,
          join(repoRoot, 'ingress/main.ts'),
          `--kubeconfig=${lab.state.labKubeconfig}`,
          `--run-dir=${join(lab.state.dir, 'ingress', name)}`,
          ...(options.extraArgs ?? []),
        ],
        env: { IRONLB_NAMESPACE: namespace, IRONLB_POD_NAME: name },
      });
    }),
  );
  await waitForEndpoints(lab.api, namespace, service, pods.length);
  let address: string | undefined;
  const deadline = Date.now() + (options.addressTimeoutMs ?? 30_000);
  while (!address && Date.now() < deadline) {
    const svc = await lab.api.core.readNamespacedService({ name: service, namespace });
    address = svc.status?.loadBalancer?.ingress?.find((a) => a.ip && !a.ip.includes(':'))?.ip;
    if (!address) await new Promise((r) => setTimeout(r, 250));
  }
  log(
    `lab: ingress running on ${nodes.map((i) => lab.node(i).name).join(', ')} behind Service ` +
      `"${namespace}/${service}" (${address ?? 'no address yet'}), IngressClass "${className}" (default)`,
  );
  return { pods, address };
}

/** deployEchoIngress routes host echo.lab.example, path /, to the echo app's Service (class ironlb). */
export async function deployEchoIngress(lab: Lab, options: { namespace?: string } = {}): Promise<void> {
  const namespace = options.namespace ?? 'demo';
  await lab.api.networking.createNamespacedIngress({
    namespace,
    body: {
      metadata: { name: 'echo', namespace },
      spec: {
        ingressClassName: INGRESS_LAB.className,
        rules: [
          {
            host: 'echo.lab.example',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'echo', port: { name: 'http' } } },
                },
              ],
            },
          },
        ],
      },
    },
  });
}

/**
 * demonstrateIngress waits for the echo Ingress's status address and fetches http://echo.lab.example/
 * through it from the LAN client; returns a line to show the user (or why it did not work).
 */
export async function demonstrateIngress(
  lab: Lab,
  options: { namespace?: string; timeoutMs?: number } = {},
): Promise<string> {
  const namespace = options.namespace ?? 'demo';
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let ip: string | undefined;
  while (Date.now() < deadline && !ip) {
    const ing = await lab.api.networking.readNamespacedIngress({ name: 'echo', namespace });
    ip = ing.status?.loadBalancer?.ingress?.find((a) => a.ip && !a.ip.includes(':'))?.ip;
    if (!ip) await new Promise((r) => setTimeout(r, 250));
  }
  if (!ip)
    return `Ingress "${namespace}/echo" has no address yet (see .lab/logs/pod-ironlb-system-ironlb-ingress-*.log)`;
  while (Date.now() < deadline) {
    const r = await lab.exec(
      'client',
      ['curl', '-s', '-m', '2', '-H', 'Host: echo.lab.example', `http://${ip}/`],
      { check: false },
    );
    if (r.code === 0 && r.stdout.startsWith('{')) {
      const body = JSON.parse(r.stdout) as { pod: string; node: string; headers: Record<string, string> };
      return (
        `curl -H 'Host: echo.lab.example' http://${ip}/ from ${lab.ns('client')} → pod "${body.pod}" on ` +
        `${body.node} through the ingress (X-Forwarded-For ${body.headers['x-forwarded-for'] ?? '?'}); ` +
        `Ingress "${namespace}/echo" status: ${ip}`
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return `Ingress "${namespace}/echo" holds ${ip} but it does not answer from ${lab.ns('client')} yet`;
}
