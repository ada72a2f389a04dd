// prober — an open-loop HTTP client for failover measurements. Runs inside the client's network namespace
// (`ip netns exec <prefix>client node test/e2e/support/prober.ts --url http://192.0.2.200/`), starts one
// request every --interval-ms whether or not earlier ones finished, each on a fresh connection (no
// keep-alive: every request resolves the path anew, as a new client would), and prints one JSON line per
// finished request: {"t": start (ms since the epoch, sub-ms), "ms": duration, "ok", "status", "pod", "err"}.
// Stops on SIGTERM, SIGINT or when stdin closes, after the requests in flight finish; last line {"done":true}.
// Before the open loop it warms up: one request at a time from source ports outside the kernel's ephemeral
// range (20000-20999), until --warmup-ok in a row succeed (records are printed from the open loop only). A
// request sent before every hop is ready (kube-proxy programs a new address some time after it is announced)
// leaves a connection-tracking entry without NAT on the node for 120 s (nf_conntrack_tcp_timeout_syn_sent), and a
// later request of the open loop that happens to reuse its source port is routed by that stale entry, not by
// kube-proxy's rules, and fails: the warm-up keeps those entries away from the ports the measurement uses.
// A line "mark" on stdin is answered with {"mark": now} on this process's clock, so that a caller can bound a
// window of records without comparing two processes' clocks.
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    'interval-ms': { type: 'string', default: '10' },
    'timeout-ms': { type: 'string', default: '250' },
    'max-seconds': { type: 'string', default: '600' },
    'warmup-ok': { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help || !values.url) {
  console.log(`Usage: node test/e2e/support/prober.ts --url URL [--interval-ms 10] [--timeout-ms 250] [--max-seconds 600] [--warmup-ok 3]
Prints one JSON line per request: {t, ms, ok, status, pod, err}; stops on SIGTERM/SIGINT/stdin EOF.`);
  process.exit(values.help ? 0 : 2);
}
const url = new URL(values.url);
const intervalMs = Number(values['interval-ms']);
const timeoutMs = Number(values['timeout-ms']);
const now = () => performance.timeOrigin + performance.now();

/** ProbeRecord is one request's outcome, as printed. */
export interface ProbeRecord {
  t: number;
  ms: number;
  ok: boolean;
  status?: number;
  pod?: string;
  err?: string;
}

let inFlight = 0;
let stopping = false;
let sent = 0;
let failed = 0;

function emit(r: ProbeRecord): void {
  process.stdout.write(JSON.stringify(r) + '\n');
}

type Outcome = Omit<ProbeRecord, 't' | 'ms'>;

/** send makes one request on a fresh connection (from localPort when given) and calls done once with its outcome. */
function send(localPort: number | undefined, onDone: (r: Outcome) => void): void {
  let finished = false;
  const guard: { deadline?: NodeJS.Timeout } = {};
  const finish = (r: Outcome) => {
    if (finished) return;
    finished = true;
    clearTimeout(guard.deadline);
    onDone(r);
  };
  const req = request(
    {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || 80,
      path: url.pathname + url.search,
      agent: false,
      headers: { connection: 'close' },
      ...(localPort === undefined ? {} : { localPort }),
    },
    (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let pod: string | undefined;
        try {
          pod = (JSON.parse(Buffer.concat(chunks).toString()) as { pod?: string }).pod;
        } catch {
          /* not the echo app: the status says enough */
        }
        finish({ ok: res.statusCode === 200, status: res.statusCode, ...(pod ? { pod } : {}) });
      });
      res.on('error', (e) => finish({ ok: false, err: e.message }));
    },
  );
  // a deadline for the whole request, connect included (req.setTimeout only starts once connected)
  guard.deadline = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
  req.on('error', (e) => finish({ ok: false, err: e.message }));
  req.end();
}

function fire(): void {
  const t = now();
  inFlight++;
  sent++;
  send(undefined, (r) => {
    inFlight--;
    if (!r.ok) failed++;
    emit({ t: Math.round(t * 1000) / 1000, ms: Math.round((now() - t) * 1000) / 1000, ...r });
    if (stopping && inFlight === 0) done();
  });
}

/** warmUp sends one request at a time from ports 20000-20999 until `want` in a row succeeded (or it is stopped). */
async function warmUp(want: number): Promise<void> {
  for (let i = 0, inARow = 0; inARow < want && !stopping; i++) {
    const r = await new Promise<Outcome>((resolve) => send(20_000 + (i % 1000), resolve));
    inARow = r.ok ? inARow + 1 : 0;
    if (!r.ok) await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// a fixed schedule: the k-th request starts at start + k·interval (a late timer skips nothing but never bursts)
let start = 0;
let k = 0;
let timer: NodeJS.Timeout | undefined;
function tick(): void {
  if (stopping) return;
  fire();
  k++;
  timer = setTimeout(tick, Math.max(0, start + k * intervalMs - now()));
}

function done(): void {
  emit({ done: true, sent, failed } as unknown as ProbeRecord);
  process.exit(0);
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  clearTimeout(timer);
  if (inFlight === 0) done();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
createInterface({ input: process.stdin }).on('line', (l) => {
  if (l.trim() === 'mark')
    process.stdout.write(JSON.stringify({ mark: Math.round(now() * 1000) / 1000 }) + '\n');
});
setTimeout(stop, Number(values['max-seconds']) * 1000).unref();
await warmUp(Number(values['warmup-ok']));
start = now();
tick();
