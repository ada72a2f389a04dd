// Webhook cost: how long the admission check of one IPAddressPool review holds the event loop, by number of
// address entries, against 100 stored pools. JSON.parse and review() are the only synchronous work a review
// does (controller/webhook.ts); entries past MAX_POOL_ADDRESSES are refused before any is parsed, and bodies
// over 1 MiB never reach JSON.parse (the 100,000-entry row shows what the size cap spares). Prints the median
// of --rounds runs. No thresholds.
//   node bench/webhook.bench.ts [--rounds 5]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { review, WEBHOOK_LIMITS } from '../controller/webhook.ts';

const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(flags.rounds);
const ns = 'ironlb-system';
// 100 stored pools of 10 /28s each, far from the reviewed addresses
const existing = Array.from({ length: 100 }, (_, p) => ({
  kind: 'IPAddressPool',
  metadata: { name: `stored-${p}`, namespace: ns, creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: { addresses: Array.from({ length: 10 }, (_, i) => `10.${100 + p}.${i}.0/28`) },
}));
const body = (n: number) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'bench',
      kind: { kind: 'IPAddressPool' },
      operation: 'CREATE',
      name: 'new',
      namespace: ns,
      object: {
        metadata: { name: 'new', namespace: ns },
        spec: {
          addresses: Array.from(
            { length: n },
            (_, i) => `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`,
          ),
        },
      },
    },
  });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
console.log(`webhook review cost, median of ${rounds}; body cap ${WEBHOOK_LIMITS.maxBodyBytes} bytes`);
console.log('entries     body bytes  JSON.parse ms  review ms  verdict');
for (const n of [16, 256, 1024, 1025, 16_384, 50_000, 100_000]) {
  const text = body(n);
  const parse: number[] = [];
  const check: number[] = [];
  let verdict = '';
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const req = (JSON.parse(text) as { request: Parameters<typeof review>[1] }).request;
    const t1 = performance.now();
    const v = review('IPAddressPool', req, existing, ns);
    check.push(performance.now() - t1);
    parse.push(t1 - t0);
    verdict = v.allowed ? 'allowed' : `denied: ${(v.message ?? '').slice(0, 60)}`;
  }
  const capped = text.length > WEBHOOK_LIMITS.maxBodyBytes ? ' (over the cap: refused with 413 unread)' : '';
  console.log(
    `${String(n).padStart(7)}  ${String(text.length).padStart(13)}  ${median(parse).toFixed(1).padStart(13)}  ` +
      `${median(check).toFixed(1).padStart(9)}  ${verdict}${capped}`,
  );
}
