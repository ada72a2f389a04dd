// What the speaker's Service and EndpointSlice caches hold per Service: N Services (type LoadBalancer, one
// port, an address) and N EndpointSlices (3 endpoints on 3 nodes, each with its Pod targetRef), written as the
// API server sends them once the informer's default slimObject has dropped managedFields, are parsed and kept
// as the cache keeps them: whole ("full", the speaker before slimSpeakerService/slimEndpointSlice) or slimmed
// ("slim", what it caches now). Each variant runs in a fresh process with --expose-gc; the V8 heap in use after
// a full collection, less the same before, is the cache's size. Synthetic objects of the lab's shape (the
// lab's bench-created Services and echo Pods), no API server: set it beside the pod RSS of
// bench/speaker-memory.bench.ts, which also holds V8 headroom, code and the runtime.
//   node bench/speaker-cache.bench.ts [--services 10000]
// Not a test: it prints figures, never pass/fail.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { slimSpeakerService } from '../src/announce/snapshot.ts';
import { slimEndpointSlice } from '../src/service/endpoints.ts';

const { values: f } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' },
    inner: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (f.help) {
  console.log(
    'node bench/speaker-cache.bench.ts [--services 10000]: heap of the speaker caches, full vs slim',
  );
  process.exit(0);
}
const N = Number(f.services);

const id = (prefix: number, i: number) => `${prefix}b3c9f2e-5d1a-4c1e-9a7b-${String(i).padStart(12, '0')}`;
const ip = (net: string, i: number) => `${net}.${(i >> 8) & 255}.${i & 255}`;

/** service is Service i as the API server sends it (without managedFields). */
const service = (i: number): string =>
  JSON.stringify({
    metadata: {
      name: `svc-${i}`,
      namespace: 'demo',
      uid: id(0, i),
      resourceVersion: String(100000 + i),
      creationTimestamp: '2026-12-06T17:55:01Z',
      labels: { bench: 'speaker-memory' },
      annotations: { 'metallb.io/ip-allocated-from-pool': 'bench' },
    },
    spec: {
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30000 + (i % 2000) }],
      selector: { app: 'echo' },
      clusterIP: ip('10.96', i),
      clusterIPs: [ip('10.96', i)],
      type: 'LoadBalancer',
      sessionAffinity: 'None',
      externalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      allocateLoadBalancerNodePorts: true,
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: { ingress: [{ ip: ip('10.210', i), ipMode: 'VIP' }] } },
  });

/** slice is the EndpointSlice of Service i: 3 endpoints on 3 nodes. */
const slice = (i: number): string =>
  JSON.stringify({
    metadata: {
      name: `svc-${i}-abcde`,
      generateName: `svc-${i}-`,
      namespace: 'demo',
      uid: id(1, i),
      resourceVersion: String(200000 + i),
      generation: 1,
      creationTimestamp: '2026-12-06T17:55:01Z',
      labels: {
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        'kubernetes.io/service-name': `svc-${i}`,
      },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-12-06T17:55:01Z' },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name: `svc-${i}`,
          uid: id(0, i),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType: 'IPv4',
    endpoints: [1, 2, 3].map((n) => ({
      addresses: [`10.244.${n}.7`],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace: 'demo', name: `echo-7d9c8b6f5-${n}x2kq`, uid: id(2, n) },
      nodeName: `ironlb-n${n}`,
    })),
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  });

if (f.inner) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the inner process needs --expose-gc');
  const slim = f.inner === 'slim';
  gc();
  const before = process.memoryUsage().heapUsed;
  const cache: unknown[] = [];
  for (let i = 0; i < N; i++) {
    const s: unknown = JSON.parse(service(i));
    const e: unknown = JSON.parse(slice(i));
    cache.push(slim ? slimSpeakerService(s) : s, slim ? slimEndpointSlice(e) : e);
  }
  gc();
  const bytes = process.memoryUsage().heapUsed - before;
  console.log(JSON.stringify({ bytes, kept: cache.length }));
} else {
  const run = (variant: string): number => {
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', import.meta.filename, '--services', String(N), '--inner', variant],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(`${variant}: exited ${r.status}: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { bytes: number }).bytes;
  };
  const full = run('full');
  const slim = run('slim');
  console.log(
    `speaker caches: ${N} Services + ${N} EndpointSlices (3 endpoints each), V8 heap after a full GC` +
      ` (Service ${service(0).length} B and slice ${slice(0).length} B of JSON each)`,
  );
  for (const [label, b] of [
    ['full', full],
    ['slim', slim],
  ] as const)
    console.log(
      `${label.padEnd(5)} ${(b / 2 ** 20).toFixed(1).padStart(7)} MiB  ${(b / N / 1024).toFixed(2).padStart(6)} KiB per Service  ratio ${(b / full).toFixed(2)}`,
    );
}
