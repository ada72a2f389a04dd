// Integration test of GRPCRoute in the HAProxy data plane: a real HAProxy (Debian) started by our edge, real gRPC
// servers and client (@grpc/grpc-js, h2c: HTTP/2 with prior knowledge, no TLS) on loopback, the table built from
// Gateway/GRPCRoute/HTTPRoute objects by the pure core and joined to an Ingress table. Loopback only, every loop
// bounded, every process stopped.
// Run: flock /tmp/ironlb-integration.lock npx vitest run --project integration ingress/grpc-dataplane.int.test.ts
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GRPCRouteObject, GRPCRouteRuleObject } from '../src/gateway/grpc.ts';
import type { GatewayObject, HTTPRouteObject } from '../src/gateway/types.ts';
import type { RouteTable } from '../src/ingress/types.ts';
import type { Dataplane } from './dataplane.ts';
import {
  gatewayPortBase,
  loopbackGatewayTable,
  startLoopbackDataplane,
  type LoopbackDataplane,
} from '../test/support/gateway-testkit.ts';
import { request, startUpstream, type Upstream } from '../test/support/ingress-testkit.ts';

const NS = 'default';
const SERVICE = 'test.echo.Echo';
const METHODS = ['Echo', 'EchoTwo', 'EchoThree'] as const;
const raw = (b: Buffer): Buffer => b;

/** EchoServer is a gRPC server whose methods answer JSON {name, method, metadata} (raw bytes, no protobuf). */
interface EchoServer {
  name: string;
  port: number;
  close(): Promise<void>;
}

async function startEchoServer(name: string): Promise<EchoServer> {
  const server = new grpc.Server();
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const m of METHODS) {
    definition[m] = {
      path: `/${SERVICE}/${m}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    };
    handlers[m] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, Buffer.from(JSON.stringify({ name, method: m, metadata: call.metadata.getMap() })));
  }
  server.addService(definition, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    name,
    port,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

interface Answer {
  code: grpc.status;
  body?: { name: string; method: string; metadata: Record<string, string> };
  headers: Record<string, unknown>;
}

/** call makes one unary call through the gateway port with `authority` as :authority. */
function call(
  port: number,
  authority: string,
  method: string,
  metadata: Record<string, string> = {},
): Promise<Answer> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': authority,
  });
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  let headers: Record<string, unknown> = {};
  return new Promise<Answer>((resolve) => {
    const c = client.makeUnaryRequest(
      `/${SERVICE}/${method}`,
      raw,
      raw,
      Buffer.alloc(0),
      md,
      { deadline: Date.now() + 5000 },
      (err, value) => {
        client.close();
        if (err) resolve({ code: err.code, headers });
        else resolve({ code: grpc.status.OK, body: JSON.parse(String(value)) as Answer['body'], headers });
      },
    );
    c.on('metadata', (m: grpc.Metadata) => {
      headers = m.getMap();
    });
  });
}

function grpcRoute(name: string, hostnames: string[], rules: GRPCRouteRuleObject[]): GRPCRouteObject {
  return {
    metadata: { name, namespace: NS, creationTimestamp: '2024-01-02T00:00:00Z' },
    spec: { parentRefs: [{ name: 'gw' }], hostnames, rules },
  };
}

describe('GRPCRoute through the HAProxy data plane (h2c, loopback)', () => {
  let servers: EchoServer[] = [];
  let web: Upstream;
  let h2web: http2.Http2Server;
  let plane: LoopbackDataplane | undefined;
  let dp: Dataplane;
  let base: number;
  let ingressPort: number;
  let grpcRoutes: GRPCRouteObject[];
  const gateway: GatewayObject = {
    metadata: { name: 'gw', namespace: NS },
    spec: { gatewayClassName: 'ironlb', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
  };
  const httpRoute: HTTPRouteObject = {
    metadata: { name: 'web', namespace: NS, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      parentRefs: [{ name: 'gw' }],
      hostnames: ['web.test'],
      rules: [{ backendRefs: [{ name: 'web', port: 80 }] }],
    },
  };
  // an HTTPRoute to a Service port with appProtocol kubernetes.io/h2c: its backend speaks HTTP/2 only
  const h2cRoute: HTTPRouteObject = {
    metadata: { name: 'h2c', namespace: NS, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      parentRefs: [{ name: 'gw' }],
      hostnames: ['h2c.test'],
      rules: [{ backendRefs: [{ name: 'h2web', port: 80 }] }],
    },
  };

  const table = (): RouteTable => {
    const { table: t, build } = loopbackGatewayTable({
      ns: NS,
      ports: {
        g1: servers[0]?.port ?? 0,
        g2: servers[1]?.port ?? 0,
        web: web.port,
        h2web: (h2web.address() as AddressInfo).port,
      },
      h2c: ['h2web'],
      legacy: 'web',
      gateway,
      httpRoutes: [httpRoute, h2cRoute],
      grpcRoutes,
      base,
      assignedPorts: new Map([[`${NS}/gw/80`, base]]),
    });
    for (const [key, parents] of build.grpcRouteStatus)
      for (const p of parents)
        for (const c of p.conditions)
          if (c.type === 'Accepted' && c.status !== 'True')
            throw new Error(`GRPCRoute ${key}: ${c.type} ${c.reason}: ${c.message}`);
    return t;
  };

  beforeAll(async () => {
    servers = await Promise.all(['g1', 'g2'].map(startEchoServer));
    web = await startUpstream('web');
    h2web = http2.createServer((req, res) =>
      res.end(JSON.stringify({ name: 'h2web', version: req.httpVersion })),
    );
    await new Promise<void>((resolve) => h2web.listen(0, '127.0.0.1', resolve));
    base = gatewayPortBase();
    grpcRoutes = [
      grpcRoute(
        'echo',
        ['grpc.test'],
        [
          {
            matches: [{ method: { service: SERVICE, method: 'Echo' } }],
            backendRefs: [{ name: 'g1', port: 80 }],
          },
          {
            matches: [{ method: { service: SERVICE, method: 'EchoTwo' } }],
            filters: [
              {
                type: 'RequestHeaderModifier',
                requestHeaderModifier: { set: [{ name: 'x-set', value: 'yes' }], remove: ['x-drop'] },
              },
              {
                type: 'ResponseHeaderModifier',
                responseHeaderModifier: { add: [{ name: 'x-resp', value: 'added' }] },
              },
            ],
            backendRefs: [{ name: 'g2', port: 80 }],
          },
          {
            matches: [{ headers: [{ name: 'version', value: 'two' }] }],
            backendRefs: [{ name: 'g2', port: 80 }],
          },
          {
            matches: [
              {
                method: { type: 'RegularExpression', method: 'Echo(Four|Three)' },
                headers: [{ name: 're', value: '1' }],
              },
            ],
            backendRefs: [{ name: 'g1', port: 80 }],
          },
          {
            matches: [{ headers: [{ name: 'lb', value: 'split' }] }],
            backendRefs: [
              { name: 'g1', port: 80, weight: 1 },
              { name: 'g2', port: 80, weight: 1 },
            ],
          },
        ],
      ),
      grpcRoute('broken', ['broken.test'], [{ backendRefs: [{ name: 'g1', port: 80 }] }]),
    ];
    plane = await startLoopbackDataplane(table(), { name: 'grpcdp', gatewayBase: base });
    ({ dp, ingressPort } = plane);
  }, 60_000);

  afterAll(async () => {
    await plane?.stop();
    await Promise.all(servers.map((s) => s.close()));
    await web?.close();
    await new Promise<void>((resolve) => (h2web ? h2web.close(() => resolve()) : resolve()));
  });

  it('routes gRPC calls by exact method over h2c to HTTP/2 backends; an unrouted method is UNIMPLEMENTED', async () => {
    const one = await call(base, 'grpc.test', 'Echo');
    expect([one.code, one.body?.name, one.body?.method]).toEqual([grpc.status.OK, 'g1', 'Echo']);
    const two = await call(base, 'grpc.test', 'EchoTwo');
    expect([two.code, two.body?.name]).toEqual([grpc.status.OK, 'g2']);
    expect((await call(base, 'grpc.test', 'EchoThree')).code).toBe(grpc.status.UNIMPLEMENTED);
    expect((await call(base, 'other.test', 'Echo')).code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('matches headers (metadata) and applies request and response header filters', async () => {
    const h = await call(base, 'grpc.test', 'EchoThree', { version: 'two' });
    expect([h.code, h.body?.name]).toEqual([grpc.status.OK, 'g2']);
    const f = await call(base, 'grpc.test', 'EchoTwo', { 'x-drop': 'gone', 'x-keep': 'kept' });
    expect(f.body?.metadata['x-set']).toBe('yes');
    expect(f.body?.metadata['x-drop']).toBeUndefined();
    expect(f.body?.metadata['x-keep']).toBe('kept');
    expect(f.headers['x-resp']).toBe('added');
  });

  it('matches methods by regular expression and splits by weight between backends', async () => {
    const re = await call(base, 'grpc.test', 'EchoThree', { re: '1' });
    expect([re.code, re.body?.name]).toEqual([grpc.status.OK, 'g1']);
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const a = await call(base, 'grpc.test', 'EchoThree', { lb: 'split' });
      expect(a.code).toBe(grpc.status.OK);
      seen.add(a.body?.name ?? '');
    }
    expect([...seen].sort()).toEqual(['g1', 'g2']);
  });

  it('answers UNAVAILABLE for a rule whose backend is not valid, applied with no reload; HTTPRoutes and Ingresses still served', async () => {
    expect((await call(base, 'broken.test', 'Echo')).body?.name).toBe('g1');
    const reloads = dp.stats.reloads;
    grpcRoutes = grpcRoutes.map((r) =>
      r.metadata?.name === 'broken'
        ? grpcRoute('broken', ['broken.test'], [{ backendRefs: [{ name: 'missing', port: 80 }] }])
        : r,
    );
    expect((await dp.apply(table())).mode).toBe('runtime');
    expect(dp.stats.reloads).toBe(reloads);
    expect((await call(base, 'broken.test', 'Echo')).code).toBe(grpc.status.UNAVAILABLE);
    expect((await call(base, 'grpc.test', 'Echo')).body?.name).toBe('g1');
    const r = await request({ port: base, host: 'web.test', path: '/x' });
    expect((JSON.parse(r.body) as { name: string }).name).toBe('web');
    const l = await request({ port: ingressPort, host: 'legacy.test', path: '/' });
    expect((JSON.parse(l.body) as { name: string }).name).toBe('web');
  });

  it('speaks HTTP/2 to an HTTPRoute backend whose Service port has appProtocol kubernetes.io/h2c', async () => {
    const r = await request({ port: base, host: 'h2c.test', path: '/' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ name: 'h2web', version: '2.0' });
  });
});
