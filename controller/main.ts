// ironlb-controller — assigns addresses to LoadBalancer Services from metallb.io IPAddressPools.
// One active replica (Lease); the others keep warm caches and serve the admission webhook. Wiring only: the
// program is createController (controller/app.ts), the shell (flags, metrics, Lease, signals) edge/program.ts.
import { runProgram, standardOptions } from '../edge/program.ts';
import { createController } from './app.ts';
import { ControllerMetrics } from './metrics.ts';

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

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

runProgram({
  name: 'ironlb-controller',
  short: 'controller',
  usage: USAGE,
  options: {
    ...standardOptions(env, { metricsPort: '7472', leaseName: 'ironlb-controller' }),
    'lb-class': { type: 'string', default: env.IRONLB_LB_CLASS },
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
    workers: { type: 'string', default: env.IRONLB_WORKERS ?? '4' },
    'conflict-hold': { type: 'string', default: env.IRONLB_CONFLICT_HOLD ?? '900' },
  },
  lease: { exitOnLoss: true },
  metrics: () => new ControllerMetrics(),
  create: (f, deps) =>
    createController(deps, {
      namespace: f.namespace as string,
      lbClass: str(f['lb-class']),
      identity: f.identity as string,
      workers: Number(f.workers),
      conflictHoldMs: Number(f['conflict-hold']) * 1000,
      webhook: {
        port: Number(f['webhook-port']),
        host: f['webhook-host'] as string,
        certFile: str(f['webhook-cert']),
        keyFile: str(f['webhook-key']),
        secret: str(f['webhook-secret']),
        service: f['webhook-service'] as string,
        configuration: f['webhook-configuration'] as string,
      },
    }),
});
