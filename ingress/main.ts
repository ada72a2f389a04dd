// ironlb-ingress — the ingress proxy's control plane: serves Ingresses of its classes through HAProxy and
// writes their status from the address of its own LoadBalancer Service. Wiring only: the program is
// createIngress (ingress/app.ts), its flag checks ingress/flags.ts, the shell (flags, metrics, Lease, signals)
// edge/program.ts.
import { runProgram, standardOptions } from '../edge/program.ts';
import { createIngress } from './app.ts';
import { checkFlags, ingressOptions } from './flags.ts';
import { IngressMetrics } from './metrics.ts';

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
  --gateway-controller NAME  GatewayClass controllerName served (Gateway API, when its CRDs are installed)
                             [IRONLB_GATEWAY_CONTROLLER] (ironlb.io/gateway-controller); "" disables
  --gateway-ports A-B        proxy ports for HTTP Gateway listeners, one per Gateway and listener port
                             [IRONLB_GATEWAY_PORTS] (10000-10063)
  --gateway-tls-ports A-B    proxy ports for HTTPS Gateway listeners [IRONLB_GATEWAY_TLS_PORTS] (10064-10127)
  --gateway-passthrough-ports A-B
                             proxy ports for Gateway listener ports with a TLS passthrough listener (their
                             HTTPS listeners too, told apart by SNI) [IRONLB_GATEWAY_PASSTHROUGH_PORTS]
                             (10128-10191)
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

runProgram({
  name: 'ironlb-ingress',
  short: 'ingress',
  usage: USAGE,
  options: {
    ...standardOptions(env, { metricsPort: '10254', leaseName: 'ironlb-ingress' }),
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
    'gateway-controller': {
      type: 'string',
      default: env.IRONLB_GATEWAY_CONTROLLER ?? 'ironlb.io/gateway-controller',
    },
    'gateway-ports': { type: 'string', default: env.IRONLB_GATEWAY_PORTS ?? '10000-10063' },
    'gateway-tls-ports': { type: 'string', default: env.IRONLB_GATEWAY_TLS_PORTS ?? '10064-10127' },
    'gateway-passthrough-ports': {
      type: 'string',
      default: env.IRONLB_GATEWAY_PASSTHROUGH_PORTS ?? '10128-10191',
    },
    'debounce-ms': { type: 'string', default: env.IRONLB_DEBOUNCE_MS ?? '100' },
  },
  check: (f) => checkFlags(f, USAGE),
  logFields: (f) => ({ identity: f.identity }),
  lease: { exitOnLoss: false },
  metrics: () => new IngressMetrics(),
  create: (f, deps) => createIngress(deps, ingressOptions(f)),
});
