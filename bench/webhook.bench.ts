// Webhook cost: how long the admission check of one IPAddressPool review holds the event loop, by number of
// address entries, against 100 stored pools. JSON.parse and review() are the only synchronous work a review
// does (controller/webhook.ts); entries past MAX_POOL_ADDRESSES are refused before any is parsed, and bodies
// over 1 MiB never reach JSON.parse (the 100,000-entry row shows what the size cap spares). Prints the median
// of --rounds runs.
// Then the cost of one review by number of stored pools (10 ranges each, created out of address order), in
// the same run and interleaved: this tree without a cache (every stored pool parsed again), this tree with the
// webhook's ParseCache (stored pools' parses kept by uid and resourceVersion), and with --baseline REV the
// review() of that git revision, loaded from a temporary copy of its src/, edge/ and controller/. No thresholds.
//   node bench/webhook.bench.ts [--rounds 5] [--baseline REV]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { review, WEBHOOK_LIMITS } from '../controller/webhook.ts';
import { ParseCache } from '../src/config/parse.ts';

const { values: flags } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, baseline: { type: 'string' } },
});
const rounds = Number(flags.rounds);
const ns = 'ironlb-system';
// n stored pools of 10 /28s each, far from the reviewed addresses, as the API server stores them
const stored = (n: number) =>
  Array.from({ length: n }, (_, p) => ({
    kind: 'IPAddressPool',
    metadata: {
      name: `stored-${p}`,
      namespace: ns,
      uid: `uid-${p}`,
      resourceVersion: String(1000 + p),
      creationTimestamp: '2025-01-01T00:00:00Z',
    },
    spec: {
      addresses: Array.from({ length: 10 }, (_, i) => `10.${1 + (p >> 8)}.${p & 255}.${i * 16}/28`),
    },
  }));
const existing = stored(100);
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

// baselineReview loads review() as it was at git revision rev (a copy of its sources, this tree's packages).
async function baselineReview(rev: string): Promise<{ review: typeof review; cleanup: () => void }> {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
  const dir = mkdtempSync(join(tmpdir(), 'ironlb-webhook-baseline-'));
  const archive = execFileSync('git', ['archive', rev, 'package.json', 'src', 'edge', 'controller'], {
    cwd: repo,
    maxBuffer: 256 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  const mod = (await import(pathToFileURL(join(dir, 'controller/webhook.ts')).href)) as {
    review: typeof review;
  };
  return { review: mod.review, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// Before/after: one review of a new 16-entry pool against n stored pools. The cache is warmed by one review
// first, as the webhook's is once it has served one (the stored set rarely changes between reviews).
const base = flags.baseline ? await baselineReview(flags.baseline) : undefined;
console.log('');
console.log(`review of a 16-entry IPAddressPool by stored pools, median of ${rounds}, ms`);
console.log(
  `stored pools  ${base ? `${`baseline ${flags.baseline}`.padStart(18)}  ` : ''}uncached  cached (ParseCache)  ` +
    `${base ? 'baseline/cached' : 'uncached/cached'}`,
);
const request = (JSON.parse(body(16)) as { request: Parameters<typeof review>[1] }).request;
for (const n of [100, 1024, 4096]) {
  const pools = stored(n);
  const cache = new ParseCache();
  const timed = (fn: typeof review, options: { cache?: ParseCache }) => {
    const t0 = performance.now();
    const v = fn('IPAddressPool', request, pools, ns, options);
    const ms = performance.now() - t0;
    if (!v.allowed) throw new Error(`review against ${n} stored pools denied: ${v.message ?? ''}`);
    return ms;
  };
  timed(review, { cache });
  const runs = { base: [] as number[], uncached: [] as number[], cached: [] as number[] };
  // interleaved, so a busy machine slows every column alike
  for (let r = 0; r < rounds; r++) {
    if (base) runs.base.push(timed(base.review, {}));
    runs.uncached.push(timed(review, {}));
    runs.cached.push(timed(review, { cache }));
  }
  const [b, u, c] = [median(runs.base), median(runs.uncached), median(runs.cached)];
  console.log(
    `${String(n).padStart(12)}  ${base ? `${b.toFixed(2).padStart(18)}  ` : ''}${u.toFixed(2).padStart(8)}  ` +
      `${c.toFixed(2).padStart(18)}  ${((base ? b : u) / c).toFixed(1).padStart(14)}x`,
  );
}
base?.cleanup();
