// Integration test of TLS passthrough by SNI in the HAProxy data plane: a real HAProxy (Debian) started by our
// edge, real TLS upstreams (Node https servers with certificates from a throw-away CA, so the client checks that
// the stream reached the backend unterminated), an HTTPS-terminating listener on the same Gateway port, and
// the table built from Gateway/TLSRoute/HTTPRoute objects by the pure core. Loopback only, bounded loops.
// Run: flock /tmp/ironlb-integration.lock npx vitest run --project integration ingress/gateway-tls.int.test.ts
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayObject, HTTPRouteObject, TLSRouteObject } from '../src/gateway/types.ts';
import type { RouteTable } from '../src/ingress/types.ts';
import type { Dataplane } from './dataplane.ts';
import {
  gatewayPortBase,
  loopbackGatewayTable,
  startLoopbackDataplane,
  type LoopbackDataplane,
} from '../test/support/gateway-testkit.ts';
import { makeTestPki, startUpstream, type TestPki, type Upstream } from '../test/support/ingress-testkit.ts';

const NS = 'default';

interface TlsUpstream {
  name: string;
  port: number;
  close(): Promise<void>;
}

async function startTlsUpstream(name: string, pair: { cert: string; key: string }): Promise<TlsUpstream> {
  const server = https.createServer({ cert: pair.cert, key: pair.key }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** get sends one HTTPS GET on a new connection with `sni`, trusting only the test CA; resolves the body. */
function get(port: number, sni: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/', servername: sni, ca, agent: false, headers: { host: sni } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('TLS passthrough by SNI through the HAProxy data plane (loopback)', () => {
  let pki: TestPki;
  let pass: TlsUpstream[] = [];
  let plain: Upstream;
  let plane: LoopbackDataplane | undefined;
  let dp: Dataplane;
  let base: number;
  let tlsRoutes: TLSRouteObject[];
  let web: { cert: string; key: string };

  const gateway: GatewayObject = {
    metadata: { name: 'gw', namespace: NS },
    spec: {
      gatewayClassName: 'ironlb',
      listeners: [
        { name: 'pass', port: 443, protocol: 'TLS', hostname: '*.pass.test', tls: { mode: 'Passthrough' } },
        {
          name: 'web',
          port: 443,
          protocol: 'HTTPS',
          hostname: 'web.test',
          tls: { certificateRefs: [{ name: 'web-cert' }] },
        },
      ],
    },
  };
  const tlsRoute = (name: string, hostnames: string[], refs: { name: string; weight?: number }[]) => ({
    metadata: { name, namespace: NS, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      parentRefs: [{ name: 'gw' }],
      hostnames,
      rules: [{ backendRefs: refs.map((r) => ({ ...r, port: 80 })) }],
    },
  });
  const httpRoute: HTTPRouteObject = {
    metadata: { name: 'web', namespace: NS, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      parentRefs: [{ name: 'gw', sectionName: 'web' }],
      rules: [{ backendRefs: [{ name: 'h', port: 80 }] }],
    },
  };

  const table = (): RouteTable =>
    loopbackGatewayTable({
      ns: NS,
      ports: { p1: pass[0]?.port ?? 0, p2: pass[1]?.port ?? 0, h: plain.port },
      gateway,
      httpRoutes: [httpRoute],
      tlsRoutes,
      certificates: { 'web-cert': web },
      base,
      assignedPorts: new Map([[`${NS}/gw/443`, base + 8]]),
    }).table;

  beforeAll(async () => {
    pki = makeTestPki();
    web = pki.leaf(['web.test']);
    pass = await Promise.all([
      startTlsUpstream('p1', pki.leaf(['*.pass.test', 'a.pass.test'])),
      startTlsUpstream('p2', pki.leaf(['*.pass.test', 'x.y.pass.test'])),
    ]);
    plain = await startUpstream('h');
    base = gatewayPortBase();
    tlsRoutes = [
      tlsRoute('a', ['a.pass.test'], [{ name: 'p1' }]),
      tlsRoute('rest', ['*.pass.test'], [{ name: 'p2' }]),
    ];
    plane = await startLoopbackDataplane(table(), { name: 'gwtls', gatewayBase: base, gatewayTls: true });
    dp = plane.dp;
  }, 60_000);

  afterAll(async () => {
    await plane?.stop();
    await Promise.all([...pass.map((u) => u.close()), plain?.close()]);
    pki?.cleanup();
  });

  it('sends the raw TLS stream to the backend of the most specific SNI hostname', async () => {
    const port = base + 8;
    expect(await get(port, 'a.pass.test', pki.caPem)).toBe('p1');
    expect(await get(port, 'b.pass.test', pki.caPem)).toBe('p2');
    expect(await get(port, 'x.y.pass.test', pki.caPem)).toBe('p2');
  });

  it('hands an SNI of the HTTPS listener on the same port to the terminating frontend', async () => {
    const body = JSON.parse(await get(base + 8, 'web.test', pki.caPem)) as {
      name: string;
      headers: Record<string, string>;
    };
    expect(body.name).toBe('h');
    expect(body.headers['x-forwarded-proto']).toBe('https');
    expect(body.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('rejects a connection whose SNI no listener has', async () => {
    await expect(get(base + 8, 'other.test', pki.caPem)).rejects.toThrow(
      /socket hang up|ECONNRESET|disconnected/,
    );
  });

  it('applies TLSRoute changes through the runtime API while a client keeps connecting: none lost', async () => {
    const reloads = dp.stats.reloads;
    const checks = dp.stats.checks;
    let failed = 0;
    let done = 0;
    let stop = false;
    const client = (async () => {
      // bounded: at most 2000 connections
      for (let i = 0; i < 2000 && !stop; i++) {
        try {
          const who = await get(base + 8, 'a.pass.test', pki.caPem);
          if (who !== 'p1' && who !== 'p2') failed++;
        } catch {
          failed++;
        }
        done++;
      }
    })();
    for (let i = 0; i < 10; i++) {
      const weights = i % 2 === 0 ? [{ name: 'p1' }, { name: 'p2' }] : [{ name: 'p1' }];
      tlsRoutes = [
        tlsRoute('a', ['a.pass.test'], weights),
        tlsRoute('rest', ['*.pass.test'], [{ name: 'p2' }]),
      ];
      const applied = await dp.apply(table());
      expect(applied.mode).toBe('runtime');
      await new Promise((r) => setTimeout(r, 100));
    }
    stop = true;
    await client;
    console.log(`tls passthrough: ${done} connections during 10 TLSRoute changes, ${failed} failed`);
    expect(done).toBeGreaterThan(20);
    expect(failed).toBe(0);
    expect(dp.stats.reloads).toBe(reloads);
    expect(dp.stats.checks).toBe(checks); // map-only changes need no `haproxy -c`
  });

  it('keeps passthrough and the hand-off working across a seamless reload', async () => {
    await dp.reload();
    expect(await get(base + 8, 'b.pass.test', pki.caPem)).toBe('p2');
    expect(JSON.parse(await get(base + 8, 'web.test', pki.caPem)).name).toBe('h');
  });
});
