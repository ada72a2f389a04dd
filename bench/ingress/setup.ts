// What the ingress benchmarks (bench.ts, same-run.ts) share: the nginx upstream, the route table of 52
// Ingresses, and the hand-written HAProxy configuration a person would write for the benchmarked request.
import { writeFileSync } from 'node:fs';
import { writeNginxConf } from '../support/nginx.ts';
import { join } from 'node:path';
import type { IngressObject } from '../../src/ingress/types.ts';
import type { IngressSnapshot } from '../../ingress/reconcile.ts';
import { endpointSlice, ingress, service } from '../../test/support/ingress-testkit.ts';

/** HOST and PATH are the benchmarked request: an ordinary Prefix route in the middle of the maps. */
export const HOST = 'bench-17.example.com';
export const PATH = '/api/v1/items';

/** writeUpstreamConf writes nginx's configuration: loopback listeners on these ports, a fixed body. */
export function writeUpstreamConf(work: string, ports: readonly number[]): string {
  return writeNginxConf(work, [{ address: '127.0.0.1', ports, body: 'hello from upstream' }]);
}

/** benchIngresses: 50 hosts × 4 paths, a rewrite with an allow-list, a wildcard. */
export function benchIngresses(): IngressObject[] {
  const ingresses: IngressObject[] = [];
  for (let i = 0; i < 50; i++) {
    ingresses.push(
      ingress(`site-${i}`, {
        created: `2024-01-01T00:00:${String(i).padStart(2, '0')}Z`,
        rules: [
          {
            host: `bench-${i}.example.com`,
            paths: [
              ['/', 'Prefix', 'web'],
              ['/api', 'Prefix', 'api'],
              ['/api/v1', 'Prefix', 'api'],
              ['/healthz', 'Exact', 'web'],
            ],
          },
        ],
      }),
    );
  }
  ingresses.push(
    ingress('rw', {
      annotations: {
        'nginx.ingress.kubernetes.io/rewrite-target': '/$2',
        'nginx.ingress.kubernetes.io/whitelist-source-range': '127.0.0.0/8',
      },
      rules: [{ host: 'rw.example.com', paths: [['/old(/|$)(.*)', 'ImplementationSpecific', 'api']] }],
    }),
    ingress('wild', { rules: [{ host: '*.wild.example.com', paths: [['/', 'Prefix', 'web']] }] }),
  );
  return ingresses;
}

/** endpoints on loopback at these ports. */
export const loopbackEndpoints = (ports: readonly number[]) =>
  ports.map((port) => ({ address: '127.0.0.1', port }));

/** benchSnapshot: the Ingresses, their class, and Services web, api (every upstream) and extra (the first). */
export function benchSnapshot(
  ingresses: readonly IngressObject[],
  upstreams: readonly number[],
  api: readonly number[] = upstreams,
): IngressSnapshot {
  return {
    ingressClasses: [
      {
        metadata: { name: 'ironlb', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
        spec: { controller: 'ironlb.io/ingress' },
      },
    ],
    ingresses,
    services: [service('default', 'web'), service('default', 'api'), service('default', 'extra')],
    endpointSlices: [
      ...endpointSlice('default', 'web', loopbackEndpoints(upstreams)),
      ...endpointSlice('default', 'api', loopbackEndpoints(api)),
      ...endpointSlice('default', 'extra', loopbackEndpoints(upstreams.slice(0, 1))),
    ],
    secrets: [],
  };
}

/** writeHandConfig writes what a person would write for the same request: same headers, same upstreams. */
export function writeHandConfig(work: string, port: number, upstreams: readonly number[]): string {
  const servers = upstreams.map((p, i) => `  server s${i} 127.0.0.1:${p}`).join('\n');
  const file = join(work, 'hand.cfg');
  writeFileSync(
    file,
    `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:${port}
  acl bench_host hdr(host),field(1,:) -i ${HOST}
  acl api path_beg /api/v1/ /api/
  acl api path /api/v1 /api
  http-request set-header X-Request-ID %[uuid()] if !{ req.hdr(x-request-id) -m found }
  http-request set-header X-Real-IP %[src]
  http-request set-header X-Forwarded-For %[src]
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header X-Forwarded-Port %[dst_port]
  http-request set-header X-Forwarded-Proto http
  use_backend api if bench_host api
  default_backend web
backend api
  balance roundrobin
${servers}
backend web
  balance roundrobin
${servers}
`,
  );
  return file;
}
