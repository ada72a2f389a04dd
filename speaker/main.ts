// ironlb-speaker — one per node. Decides, for every Service with an address, whether this node announces it,
// and does it on the wire (L2: ARP/NDP; BGP through gobgpd). Wiring only: the program is createSpeaker
// (speaker/app.ts), the shell (flags, metrics server, signals) edge/program.ts.
import { readFileSync } from 'node:fs';
import { runProgram, standardOptions } from '../edge/program.ts';
import { createSpeaker } from './app.ts';
import { SpeakerMetrics } from './metrics.ts';

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

runProgram({
  name: 'ironlb-speaker',
  short: 'speaker',
  usage: USAGE,
  options: {
    ...standardOptions(env, { metricsPort: '7472' }),
    'node-name': { type: 'string', default: env.IRONLB_NODE_NAME },
    'lb-class': { type: 'string', default: env.IRONLB_LB_CLASS },
    'liveness-port': { type: 'string', default: env.IRONLB_LIVENESS_PORT ?? '7946' },
    'liveness-interval': { type: 'string', default: env.IRONLB_LIVENESS_INTERVAL ?? '100' },
    'liveness-timeout': { type: 'string', default: env.IRONLB_LIVENESS_TIMEOUT ?? '350' },
    'handoff-ms': { type: 'string', default: '1500' },
    'liveness-key-file': { type: 'string' },
    election: { type: 'string', default: 'evenSpread' },
    'ignore-exclude-lb': { type: 'boolean', default: false },
    'gobgp-api': { type: 'string', default: env.IRONLB_GOBGP_API ?? '127.0.0.1:50051' },
    'gobgp-spawn': { type: 'string', default: env.IRONLB_GOBGP_SPAWN ?? 'true' },
  },
  check: (f) => {
    if (!f['node-name']) return `--node-name (or IRONLB_NODE_NAME) is required\n\n${USAGE}`;
    if (f.election !== 'evenSpread' && f.election !== 'metallb')
      return `--election must be "evenSpread" or "metallb", not "${String(f.election)}"`;
    if ((livenessKey(f['liveness-key-file'])?.length ?? 16) < 16)
      return 'the liveness key must be at least 16 bytes';
    return undefined;
  },
  logFields: (f) => ({ node: f['node-name'] }),
  metrics: () => new SpeakerMetrics(),
  create: (f, deps) => {
    const key = livenessKey(f['liveness-key-file']);
    if (!key)
      deps.log.warn(
        'speaker heartbeats are not authenticated: set IRONLB_LIVENESS_KEY (a Secret) on every speaker',
      );
    return createSpeaker(deps, {
      self: f['node-name'] as string,
      namespace: f.namespace as string,
      lbClass: typeof f['lb-class'] === 'string' ? f['lb-class'] : undefined,
      mode: f.election as 'evenSpread' | 'metallb',
      ignoreExcludeLabel: f['ignore-exclude-lb'] === true,
      handoffMs: Number(f['handoff-ms']),
      liveness: {
        port: Number(f['liveness-port']),
        intervalMs: Number(f['liveness-interval']),
        timeoutMs: Number(f['liveness-timeout']),
        ...(key ? { key } : {}),
      },
      gobgp: { api: f['gobgp-api'] as string, spawn: f['gobgp-spawn'] !== 'false' },
    });
  },
});

/** livenessKey is the shared heartbeat key: the file's bytes, else IRONLB_LIVENESS_KEY, else none. */
function livenessKey(file: unknown): Buffer | undefined {
  if (typeof file === 'string') return readFileSync(file);
  return env.IRONLB_LIVENESS_KEY ? Buffer.from(env.IRONLB_LIVENESS_KEY, 'utf8') : undefined;
}
