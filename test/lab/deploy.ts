// What `make lab` deploys on the lab's nodes besides IronLB itself (test/lab/install.ts): the echo app as a
// Deployment of the echo image behind LoadBalancer Services, an Ingress for it, and the checks that show them
// working from the LAN client and from behind the router.
import * as k8s from '@kubernetes/client-node';
import type { Lab } from '../harness/netlab.ts';
import { ensureNamespace, waitForEndpoints } from '../harness/kube.ts';
import { IRONLB_NAMESPACE, COMPONENTS, labImage, waitForPods, type PodView } from './install.ts';

export { labPools, labLivenessKey } from './install.ts';

/** ECHO_PORT is the echo app's container port. */
export const ECHO_PORT = 8080;

/**
 * ECHO_CPU_REQUEST is the echo pods' CPU request. Without one they are BestEffort, and on this lab's shared
 * cores a pod starting on the same node (a new speaker in a rollout) starves them: requests then wait over a
 * second in the echo process (bench/rollout.bench.ts --echo-cpu none shows it). An app serving traffic asks
 * for CPU; so does the lab's.
 */
export const ECHO_CPU_REQUEST = '100m';

/**
 * echoDeployment returns a Deployment of the echo image: `replicas` pods spread one per node (as far as
 * nodes go), each told its pod, namespace, node and Service name through the downward API, Ready when it
 * answers HTTP.
 */
export function echoDeployment(
  lab: Lab,
  options: {
    name: string;
    namespace: string;
    replicas: number;
    labels: Record<string, string>;
    service?: string;
    nodeSelector?: Record<string, string>;
    /** cpuRequest: the echo container's CPU request (default ECHO_CPU_REQUEST; '' for none: a BestEffort pod). */
    cpuRequest?: string;
  },
): k8s.V1Deployment {
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: options.name, namespace: options.namespace },
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: options.labels },
      template: {
        metadata: { labels: options.labels },
        spec: {
          terminationGracePeriodSeconds: 5,
          automountServiceAccountToken: false,
          ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'DoNotSchedule',
              labelSelector: { matchLabels: options.labels },
            },
          ],
          containers: [
            {
              name: 'echo',
              image: labImage(lab, 'ironlb-echo'),
              imagePullPolicy: 'Never',
              ports: [{ name: 'http', containerPort: ECHO_PORT }],
              env: [
                { name: 'PORT', value: String(ECHO_PORT) },
                { name: 'SERVICE_NAME', value: options.service ?? options.name },
                { name: 'POD_NAME', ...field('metadata.name') },
                { name: 'POD_NAMESPACE', ...field('metadata.namespace') },
                { name: 'NODE_NAME', ...field('spec.nodeName') },
              ],
              readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
              ...((options.cpuRequest ?? ECHO_CPU_REQUEST)
                ? { resources: { requests: { cpu: options.cpuRequest ?? ECHO_CPU_REQUEST } } }
                : {}),
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

/**
 * runEcho creates (or replaces) an echo Deployment and waits until its pods are Ready; returns them. A pod
 * that cannot start fails at once with the reason (waitForPods).
 */
export async function runEcho(
  lab: Lab,
  options: Parameters<typeof echoDeployment>[1] & { log?: (m: string) => void; timeoutMs?: number },
): Promise<PodView[]> {
  await ensureNamespace(lab.api, options.namespace);
  await lab.kubectl(
    ['apply', '--server-side', '--force-conflicts', '-f', '-'],
    JSON.stringify(echoDeployment(lab, options)),
  );
  return waitForPods(lab, {
    namespace: options.namespace,
    selector: Object.entries(options.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    count: options.replicas,
    what: `deployment ${options.namespace}/${options.name}`,
    timeoutMs: options.timeoutMs,
    log: options.log,
  });
}

/** deployEcho runs the echo app (one pod per node) in namespace "demo" behind LoadBalancer Services "echo" (L2) and "echo-bgp" (BGP pool). */
export async function deployEcho(
  lab: Lab,
  options: { log?: (m: string) => void; namespace?: string } = {},
): Promise<void> {
  const log = options.log ?? (() => {});
  const ns = options.namespace ?? 'demo';
  await runEcho(lab, {
    name: 'echo',
    namespace: ns,
    replicas: lab.state.nodes.length,
    labels: { app: 'echo' },
    log,
  });
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
    `lab: echo app running (Deployment "${ns}/echo", ${lab.state.nodes.length} pods) behind Services "${ns}/echo" (L2) and ` +
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
  if (!ip)
    return `Service "${ns}/${name}" has no external address yet (kubectl -n ironlb-system logs deploy/ironlb-controller)`;
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
  return `Service "${ns}/${name}" holds ${ip} but it does not answer from ${lab.ns(from)} yet (kubectl -n ironlb-system logs ds/ironlb-speaker -c speaker)`;
}

/** INGRESS_LAB names the ingress objects deploy/ingress.yaml installs: namespace, Service, pod labels, IngressClass. */
export const INGRESS_LAB = {
  namespace: IRONLB_NAMESPACE,
  service: 'ironlb-ingress',
  deployment: 'ironlb-ingress',
  labels: { 'app.kubernetes.io/name': 'ironlb', 'app.kubernetes.io/component': 'ingress' },
  selector: COMPONENTS.ingress.selector,
  className: 'ironlb',
  controller: 'ironlb.io/ingress',
  metricsPort: 10254,
} as const;

/** IngressDeployment is the installed ingress: its pods and the Service's address. */
export interface IngressDeployment {
  pods: PodView[];
  /** address is the ingress Service's load-balancer IPv4 address (undefined when none came in time). */
  address: string | undefined;
}

/**
 * deployIngress waits for the ingress that installIronLB installed (Deployment "ironlb-system/ironlb-ingress",
 * two replicas, HAProxy on 8080/8443; Service LoadBalancer with externalTrafficPolicy Local, 80→8080,
 * 443→8443; IngressClass "ironlb", the lab's default): its pods Ready, its endpoints, the Service's address.
 */
export async function deployIngress(
  lab: Lab,
  options: { log?: (m: string) => void; addressTimeoutMs?: number } = {},
): Promise<IngressDeployment> {
  const log = options.log ?? (() => {});
  const { namespace, service, className, selector } = INGRESS_LAB;
  const pods = await waitForPods(lab, {
    namespace,
    selector,
    count: 2,
    what: `deployment ${namespace}/${service}`,
  });
  await waitForEndpoints(lab.api, namespace, service, pods.length);
  let address: string | undefined;
  const deadline = Date.now() + (options.addressTimeoutMs ?? 30_000);
  while (!address && Date.now() < deadline) {
    const svc = await lab.api.core.readNamespacedService({ name: service, namespace });
    address = svc.status?.loadBalancer?.ingress?.find((a) => a.ip && !a.ip.includes(':'))?.ip;
    if (!address) await new Promise((r) => setTimeout(r, 250));
  }
  log(
    `lab: ingress running on ${pods.map((p) => p.nodeName).join(', ')} behind Service ` +
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
    return `Ingress "${namespace}/echo" has no address yet (kubectl -n ironlb-system logs deploy/ironlb-ingress)`;
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

/** GATEWAY_LAB names what deployEchoGateway creates: the GatewayClass, the Gateway, its route and host name. */
export const GATEWAY_LAB = {
  className: 'ironlb',
  controller: 'ironlb.io/gateway-controller',
  namespace: 'demo',
  gateway: 'web',
  route: 'echo',
  host: 'echo.gateway.lab.example',
} as const;

/**
 * deployEchoGateway applies the GatewayClass "ironlb", the Gateway "demo/web" (one HTTP listener on port 80, routes
 * from its own namespace) and the HTTPRoute "demo/echo" (host echo.gateway.lab.example, prefix / → Service
 * demo/echo:80). The Gateway's address comes from IronLB through its Service "demo/ironlb-web".
 */
export async function deployEchoGateway(lab: Lab): Promise<void> {
  const { className, controller, namespace, gateway, route, host } = GATEWAY_LAB;
  const api = 'gateway.networking.k8s.io/v1';
  const docs = [
    {
      apiVersion: api,
      kind: 'GatewayClass',
      metadata: { name: className },
      spec: { controllerName: controller },
    },
    {
      apiVersion: api,
      kind: 'Gateway',
      metadata: { name: gateway, namespace },
      spec: {
        gatewayClassName: className,
        listeners: [
          { name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } },
        ],
      },
    },
    {
      apiVersion: api,
      kind: 'HTTPRoute',
      metadata: { name: route, namespace },
      spec: {
        parentRefs: [{ name: gateway }],
        hostnames: [host],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            backendRefs: [{ name: 'echo', port: 80 }],
          },
        ],
      },
    },
  ];
  await lab.kubectl(
    ['apply', '--server-side', '--force-conflicts', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }),
  );
}

interface GatewayView {
  status?: {
    addresses?: { value?: string }[];
    conditions?: { type: string; status: string; reason?: string }[];
  };
}

/**
 * demonstrateGateway waits for the Gateway "demo/web" to have an address (status.addresses, given by IronLB to its
 * Service) and fetches http://echo.gateway.lab.example/ through it from the LAN client; returns a line to show the
 * user (or why it did not work).
 */
export async function demonstrateGateway(lab: Lab, options: { timeoutMs?: number } = {}): Promise<string> {
  const { namespace, gateway, route, host } = GATEWAY_LAB;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const read = async (kind: string, name: string) =>
    JSON.parse(await lab.kubectl(['get', kind, '-n', namespace, name, '-o', 'json'])) as GatewayView;
  let ip: string | undefined;
  let gw: GatewayView = {};
  while (Date.now() < deadline && !ip) {
    gw = await read('gateway.gateway.networking.k8s.io', gateway);
    ip = gw.status?.addresses?.map((a) => a.value ?? '').find((a) => a && !a.includes(':'));
    if (!ip) await new Promise((r) => setTimeout(r, 250));
  }
  const programmed = gw.status?.conditions?.find((c) => c.type === 'Programmed');
  if (!ip)
    return (
      `Gateway "${namespace}/${gateway}" has no address yet (Programmed=${programmed?.status ?? '?'} ` +
      `${programmed?.reason ?? ''}; node bin/ironlb.ts why gateway/${namespace}/${gateway})`
    );
  while (Date.now() < deadline) {
    const r = await lab.exec('client', ['curl', '-s', '-m', '2', '-H', `Host: ${host}`, `http://${ip}/`], {
      check: false,
    });
    if (r.code === 0 && r.stdout.startsWith('{')) {
      const body = JSON.parse(r.stdout) as { pod: string; node: string };
      return (
        `curl -H 'Host: ${host}' http://${ip}/ from ${lab.ns('client')} → pod "${body.pod}" on ${body.node} ` +
        `through Gateway "${namespace}/${gateway}" (address from IronLB via Service "${namespace}/ironlb-${gateway}") ` +
        `and HTTPRoute "${namespace}/${route}"`
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return `Gateway "${namespace}/${gateway}" holds ${ip} but ${host} does not answer from ${lab.ns('client')} yet`;
}
