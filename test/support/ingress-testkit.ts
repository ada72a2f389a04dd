// Helpers shared by the ingress integration test and the benchmark: loopback upstreams, free ports, a test
// CA made with the openssl CLI, Kubernetes-shaped objects, and a small keep-alive HTTP client.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IngressObject } from '../../src/ingress/types.ts';
import type { EndpointSliceObject, SecretObject, ServiceObject } from '../../src/ingress/resolve.ts';

/** Upstream is a loopback HTTP server answering JSON {name, url, headers} and counting its requests. */
export interface Upstream {
  name: string;
  port: number;
  hits: number;
  close(): Promise<void>;
}

/** startUpstream starts one upstream on 127.0.0.1 (ephemeral port). */
export async function startUpstream(name: string): Promise<Upstream> {
  const up: Upstream = { name, port: 0, hits: 0, close: async () => {} };
  const server = http.createServer((req, res) => {
    up.hits++;
    const body = JSON.stringify({ name, url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.port = (server.address() as AddressInfo).port;
  up.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return up;
}

/** freePort asks the kernel for a free loopback port (a small race, fine for tests). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** TestPki is a throw-away CA and leaf certificates, made with the openssl CLI. */
export interface TestPki {
  caPem: string;
  leaf(names: string[]): { cert: string; key: string };
  cleanup(): void;
}

/** makeTestPki creates a CA in a temporary directory. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'ironlb-pki-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...ec,
      '-days',
      '2',
      '-subj',
      '/CN=IronLB test CA',
      '-keyout',
      join(dir, 'ca.key'),
      '-out',
      join(dir, 'ca.crt'),
    ],
    { stdio: 'ignore' },
  );
  let n = 0;
  return {
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    leaf(names) {
      const base = join(dir, `leaf${n++}`);
      execFileSync(
        'openssl',
        ['req', ...ec, '-subj', `/CN=${names[0] ?? 'leaf'}`, '-keyout', `${base}.key`, '-out', `${base}.csr`],
        { stdio: 'ignore' },
      );
      writeFileSync(`${base}.ext`, `subjectAltName=${names.map((h) => `DNS:${h}`).join(',')}\n`);
      execFileSync(
        'openssl',
        [
          'x509',
          '-req',
          '-in',
          `${base}.csr`,
          '-CA',
          join(dir, 'ca.crt'),
          '-CAkey',
          join(dir, 'ca.key'),
          '-CAcreateserial',
          '-days',
          '2',
          '-extfile',
          `${base}.ext`,
          '-out',
          `${base}.crt`,
        ],
        { stdio: 'ignore' },
      );
      return { cert: readFileSync(`${base}.crt`, 'utf8'), key: readFileSync(`${base}.key`, 'utf8') };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** service returns a Service with one port 80 named "http". */
export function service(ns: string, name: string): ServiceObject {
  return {
    metadata: { name, namespace: ns },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

/** endpointSlice returns a ready IPv4 EndpointSlice of `svc` with the given loopback ports. */
export function endpointSlice(
  ns: string,
  svc: string,
  endpoints: { address: string; port: number }[],
): EndpointSliceObject[] {
  // One slice per port, since a slice has one port list for all its endpoints.
  const byPort = new Map<number, string[]>();
  for (const e of endpoints) byPort.set(e.port, [...(byPort.get(e.port) ?? []), e.address]);
  return [...byPort.entries()].map(([port, addrs]) => ({
    metadata: { name: `${svc}-${port}`, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port }],
    endpoints: addrs.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  }));
}

/** tlsSecret returns a kubernetes.io/tls Secret holding a certificate and key. */
export function tlsSecret(ns: string, name: string, pair: { cert: string; key: string }): SecretObject {
  return {
    metadata: { name, namespace: ns },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(pair.cert).toString('base64'),
      'tls.key': Buffer.from(pair.key).toString('base64'),
    },
  };
}

/** PathSpec is a compact way to write one Ingress path: [path, pathType, service]. */
export type PathSpec = [string, string, string];

/** ingress builds an Ingress from compact rules. */
export function ingress(
  name: string,
  opts: {
    ns?: string;
    created?: string;
    className?: string;
    annotations?: Record<string, string>;
    rules?: { host?: string; paths: PathSpec[] }[];
    tls?: { hosts?: string[]; secretName?: string }[];
    defaultBackend?: string;
  },
): IngressObject {
  const backend = (svc: string) => ({ service: { name: svc, port: { number: 80 } } });
  return {
    metadata: {
      name,
      namespace: opts.ns ?? 'default',
      creationTimestamp: opts.created ?? '2024-01-01T00:00:00Z',
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    spec: {
      ...(opts.className !== undefined ? { ingressClassName: opts.className } : {}),
      ...(opts.defaultBackend ? { defaultBackend: backend(opts.defaultBackend) } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
      rules: (opts.rules ?? []).map((r) => ({
        ...(r.host !== undefined ? { host: r.host } : {}),
        http: { paths: r.paths.map(([path, pathType, svc]) => ({ path, pathType, backend: backend(svc) })) },
      })),
    },
  };
}

/** Reply is a finished HTTP exchange. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** request sends one GET (http or https with SNI) and reads the whole reply; rejects on socket errors. */
export function request(opts: {
  port: number;
  host: string;
  path: string;
  tls?: { ca: string; servername: string };
  agent?: http.Agent;
  headers?: Record<string, string>;
  timeoutMs?: number;
}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const common = {
      host: '127.0.0.1',
      port: opts.port,
      path: opts.path,
      method: 'GET',
      headers: { host: opts.host, ...opts.headers },
      ...(opts.agent ? { agent: opts.agent } : {}),
    };
    const onRes = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    };
    const req = opts.tls
      ? https.request({ ...common, ca: opts.tls.ca, servername: opts.tls.servername }, onRes)
      : http.request(common, onRes);
    req.setTimeout(opts.timeoutMs ?? 5000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}
