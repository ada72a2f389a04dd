// The metrics and probe endpoint every program serves: /metrics (Prometheus), /healthz, /readyz.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** serveMetrics listens on host:port and answers /metrics, /healthz (always 200) and /readyz (ready()). */
export function serveMetrics(options: {
  host: string;
  port: number;
  registry: Registry;
  ready: () => boolean;
  extra?: (path: string) => Promise<{ status: number; body: string; type?: string } | undefined>;
}): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    void (async () => {
      if (path === '/metrics') {
        const body = await options.registry.metrics();
        res.writeHead(200, { 'content-type': options.registry.contentType });
        res.end(body);
      } else if (path === '/healthz') {
        res.writeHead(200).end('ok');
      } else if (path === '/readyz') {
        const ok = options.ready();
        res.writeHead(ok ? 200 : 503).end(ok ? 'ok' : 'not ready');
      } else {
        const r = await options.extra?.(path);
        if (r) res.writeHead(r.status, { 'content-type': r.type ?? 'application/json' }).end(r.body);
        else res.writeHead(404).end('not found');
      }
    })().catch((e: unknown) => res.writeHead(500).end(String(e)));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
