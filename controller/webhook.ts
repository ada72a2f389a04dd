// The validating admission webhook for metallb.io objects. It calls the same parse step as the controller
// (validateObject → parseConfig), so what the webhook admits the controller can use, and an overlapping pool
// is refused with a message naming the pool it overlaps.
import { readFileSync, watch } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { ParseCache, validateObject } from '../src/config/parse.ts';
import { realClock, type Clock, type Timer } from '../edge/clock.ts';
import type { Logger } from '../edge/log.ts';

/** WEBHOOK_PATHS maps each served path to the kind it validates (deploy/controller.yaml registers them). */
export const WEBHOOK_PATHS: Record<string, string> = {
  '/validate-metallb-io-v1beta1-ipaddresspool': 'IPAddressPool',
  '/validate-metallb-io-v1beta1-l2advertisement': 'L2Advertisement',
  '/validate-metallb-io-v1beta1-bgpadvertisement': 'BGPAdvertisement',
  '/validate-metallb-io-v1beta1-community': 'Community',
  '/validate-metallb-io-v1beta1-bfdprofile': 'BFDProfile',
  '/validate-metallb-io-v1beta2-bgppeer': 'BGPPeer',
};

interface AdmissionRequest {
  uid: string;
  kind?: { kind?: string };
  operation?: string;
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  name?: string;
  namespace?: string;
}

/** AdmissionResult is the verdict on one request: allowed, with a message and warnings. */
export interface AdmissionResult {
  allowed: boolean;
  message?: string;
  warnings?: string[];
}

/**
 * review decides one AdmissionReview request against the objects currently stored (`existing`, any metallb.io
 * kinds). Problems that are not retryable deny; retryable ones (a reference to an object not created yet)
 * admit with a warning. A DELETE of a BFDProfile still used by a BGPPeer is denied. With `cache` (one per
 * webhook, `existing` exactly as stored) what each stored object parses to alone is kept between reviews, so a
 * review costs the reviewed object's parse plus the overlap check over all ranges (n log n).
 */
export function review(
  kindHint: string,
  req: AdmissionRequest,
  existing: readonly Record<string, unknown>[],
  namespace: string,
  options: { cache?: ParseCache } = {},
): AdmissionResult {
  const kind = req.kind?.kind ?? kindHint;
  // metallb.io objects are namespaced and IronLB reads only its own namespace's: one elsewhere (another
  // installation's, or a mistake) is neither judged against ours nor refused, and the warning says it is ignored
  if (req.namespace !== undefined && req.namespace !== '' && req.namespace !== namespace) {
    if (req.operation === 'DELETE') return { allowed: true };
    return {
      allowed: true,
      warnings: [
        `${kind} "${req.name ?? ''}" is in namespace "${req.namespace}": IronLB reads metallb.io objects only in namespace "${namespace}" and ignores this one`,
      ],
    };
  }
  if (req.operation === 'DELETE') {
    if (kind !== 'BFDProfile') return { allowed: true };
    const users = existing
      .filter(
        (o) =>
          o.kind === 'BGPPeer' && (o.spec as { bfdProfile?: string } | undefined)?.bfdProfile === req.name,
      )
      .map((o) => (o.metadata as { name?: string } | undefined)?.name);
    return users.length
      ? {
          allowed: false,
          message: `BFDProfile "${req.name}" is used by BGPPeer ${users.map((u) => `"${u}"`).join(', ')}: remove the reference first`,
        }
      : { allowed: true };
  }
  const obj = req.object;
  if (!obj) return { allowed: false, message: `${kind} request carries no object` };
  let problems;
  try {
    // no Secrets here: a peer may be created before its password Secret, and a wrong Secret is fixed on the
    // Secret, not the peer; the controller's Valid condition on the peer says what is wrong with it
    problems = validateObject(
      kind,
      { ...obj, kind },
      { existing, namespace, secretsRead: false, ...(options.cache ? { cache: options.cache } : {}) },
    );
  } catch (e) {
    return {
      allowed: false,
      message: `${kind} "${req.name ?? ''}": ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  const fatal = problems.filter((p) => !p.retryable);
  const warnings = problems.filter((p) => p.retryable).map((p) => p.message);
  if (fatal.length)
    return {
      allowed: false,
      message: fatal.map((p) => p.message).join('; '),
      ...(warnings.length ? { warnings } : {}),
    };
  return { allowed: true, ...(warnings.length ? { warnings } : {}) };
}

/**
 * WEBHOOK_LIMITS bound what one client can make a replica do. The API server sends one AdmissionReview per
 * write of a metallb.io object; the largest a schema-valid object makes (1,024 pool entries, object and
 * oldObject) is well under 1 MiB.
 *
 * How no request blocks the event loop for long (every replica serves, the Lease holder included, so the
 * webhook stays up with one replica): the only synchronous work is JSON.parse of at most maxBodyBytes and the
 * parse step on that one object, whose cost is bounded by the size cap and the parse step's own entry cap
 * (MAX_POOL_ADDRESSES, checked before any entry is parsed) and grows as n log n. Bodies above the cap are
 * refused while streaming, before they are buffered whole; requests beyond maxConcurrent are refused with 429
 * before their bodies are read, so memory is bounded by maxConcurrent × maxBodyBytes; a client that sends
 * slowly is cut off after requestTimeoutMs. Measured: see test/integration/webhook.test.ts.
 */
export const WEBHOOK_LIMITS = {
  maxBodyBytes: 1024 * 1024,
  maxConcurrent: 8,
  /** whole request (headers and body) must arrive within this time */
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  /** at most this many open connections (TLS handshakes cost CPU too) */
  maxConnections: 64,
};

/** WebhookLimits is the shape of WEBHOOK_LIMITS; serveWebhook takes any of them as options. */
export type WebhookLimits = typeof WEBHOOK_LIMITS;

// refuse answers with an error and closes the connection once the answer is out (the rest of a body too large
// to read is never read).
function refuse(res: ServerResponse, code: number, message: string): void {
  if (res.headersSent) return;
  res
    .writeHead(code, { 'content-type': 'text/plain', connection: 'close' })
    .end(`${message}\n`, () => res.req.destroy());
}

/** serveWebhook serves the webhook over HTTPS within `limits`, reloading the certificate files when they change. */
export function serveWebhook(options: {
  port: number;
  host: string;
  certFile: string;
  keyFile: string;
  namespace: string;
  existing: () => Record<string, unknown>[];
  log: Logger;
  onReview?: (kind: string, allowed: boolean) => void;
  /** onRefused counts requests refused by a limit: "tooLarge" or "busy" (slow ones get 408 from Node). */
  onRefused?: (reason: string) => void;
  limits?: Partial<WebhookLimits>;
  /** clock times the certificate reload debounce (default the real clock). */
  clock?: Clock;
}): Promise<Server> {
  const clock = options.clock ?? realClock;
  const limits = { ...WEBHOOK_LIMITS, ...options.limits };
  const load = () => ({ cert: readFileSync(options.certFile), key: readFileSync(options.keyFile) });
  let inFlight = 0;
  // stored objects' parses, kept between reviews (keyed by uid and resourceVersion; see ParseCache)
  const cache = new ParseCache();
  const server = createServer(load(), (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const kindHint = WEBHOOK_PATHS[path];
    if (req.method !== 'POST' || !kindHint) {
      res.writeHead(404).end();
      return;
    }
    const tooLarge = () => {
      options.onRefused?.('tooLarge');
      options.log.warn(
        { path, limit: limits.maxBodyBytes, remote: req.socket.remoteAddress },
        'admission request refused: body too large',
      );
      refuse(res, 413, `AdmissionReview larger than ${limits.maxBodyBytes} bytes`);
    };
    if (Number(req.headers['content-length'] ?? 0) > limits.maxBodyBytes) return tooLarge();
    if (inFlight >= limits.maxConcurrent) {
      options.onRefused?.('busy');
      res.setHeader('retry-after', '1');
      return refuse(res, 429, `more than ${limits.maxConcurrent} admission requests at once`);
    }
    inFlight++;
    res.once('close', () => inFlight--);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      if (size > limits.maxBodyBytes) return; // already refused
      size += c.length;
      if (size <= limits.maxBodyBytes) chunks.push(c);
      else {
        chunks.length = 0;
        tooLarge();
      }
    });
    req.on('end', () => {
      if (size > limits.maxBodyBytes) return;
      let uid = '';
      let apiVersion = 'admission.k8s.io/v1';
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          apiVersion?: string;
          request?: AdmissionRequest;
        };
        apiVersion = body.apiVersion ?? apiVersion;
        const request = body.request;
        if (!request) throw new TypeError('AdmissionReview has no request');
        uid = request.uid;
        const verdict = review(kindHint, request, options.existing(), options.namespace, { cache });
        options.onReview?.(kindHint, verdict.allowed);
        if (!verdict.allowed)
          options.log.info(
            { kind: kindHint, name: request.name, message: verdict.message },
            'admission denied',
          );
        const response = {
          uid,
          allowed: verdict.allowed,
          ...(verdict.message
            ? { status: { code: verdict.allowed ? 200 : 422, message: verdict.message } }
            : {}),
          ...(verdict.warnings ? { warnings: verdict.warnings } : {}),
        };
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ apiVersion, kind: 'AdmissionReview', response }));
      } catch (e) {
        const message = `Malformed AdmissionReview: ${e instanceof Error ? e.message : String(e)}`;
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            apiVersion,
            kind: 'AdmissionReview',
            response: { uid, allowed: false, status: { code: 400, message } },
          }),
        );
      }
    });
  });
  let reloadTimer: Timer | undefined;
  const watcher = watch(options.certFile, () => {
    reloadTimer?.cancel();
    reloadTimer = clock.setTimeout(() => {
      try {
        server.setSecureContext(load());
        options.log.info({ cert: options.certFile }, 'webhook certificate reloaded');
      } catch (e) {
        options.log.warn({ err: String(e) }, 'webhook certificate reload failed; keeping the old one');
      }
    }, 200);
  });
  server.on('close', () => watcher.close());
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.maxConnections = limits.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
