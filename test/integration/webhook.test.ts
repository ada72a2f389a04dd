// The admission webhook, called by the real API server: a serving certificate from the cluster CA, a
// ValidatingWebhookConfiguration whose clientConfig.url points at 127.0.0.1 (never a Service reference: with
// no kube-proxy here the API server would send that request off the machine), scoped to this file's config
// namespace, deleted in afterAll before the controller stops.
import * as k8s from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WEBHOOK_PATHS } from '../../controller/webhook.ts';
import { CONFIG_RESOURCES, type Resource } from '../../src/contracts/resources.ts';
import { run, waitFor } from '../harness/exec.ts';
import { isNotFound } from '../harness/kube.ts';
import {
  freePort,
  startController,
  stopAllControllers,
  type ControllerProcess,
} from './support/controller.ts';
import { TestEnv, validCondition } from './support/objects.ts';
import { endWorlds, trackEnv, worldClients } from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const pkiDir = inject('pkiDir');
const c = worldClients(kubeconfig);
const admission = c.kc.makeApiClient(k8s.AdmissionregistrationV1Api);
const CONFIG_NAME = 'ironlb-test-webhook';
const GROUP = { group: 'metallb.io' };

let env: TestEnv;
let ctl: ControllerProcess;
let certDir: string;
let webhookPort: number;

// servingCert issues a certificate for 127.0.0.1 signed by the cluster CA (which the caBundle carries).
function servingCert(dir: string): { cert: string; key: string } {
  const key = join(dir, 'webhook.key');
  const csr = join(dir, 'webhook.csr');
  const cert = join(dir, 'webhook.crt');
  const ext = join(dir, 'webhook.ext');
  writeFileSync(
    ext,
    'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n',
  );
  run(['openssl', 'genrsa', '-out', key, '2048']);
  run(['openssl', 'req', '-new', '-key', key, '-subj', '/CN=ironlb-webhook-test', '-out', csr]);
  // -set_serial: no serial file written next to the shared CA
  const serial = `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
  run([
    'openssl',
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    join(pkiDir, 'ca.crt'),
    '-CAkey',
    join(pkiDir, 'ca.key'),
    '-set_serial',
    serial,
    '-days',
    '2',
    '-out',
    cert,
    '-extfile',
    ext,
  ]);
  return { cert, key };
}

const plural: Record<string, Resource> = Object.fromEntries(CONFIG_RESOURCES.map((r) => [r.kind, r]));

function webhookConfiguration(port: number, namespace: string): k8s.V1ValidatingWebhookConfiguration {
  const caBundle = readFileSync(join(pkiDir, 'ca.crt')).toString('base64');
  return {
    metadata: { name: CONFIG_NAME },
    webhooks: Object.entries(WEBHOOK_PATHS).map(([path, kind]) => {
      const p = plural[kind];
      if (!p) throw new Error(`no resource known for kind "${kind}"`);
      return {
        name: `${p.plural}.${CONFIG_NAME}.metallb.io`,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        timeoutSeconds: 10,
        clientConfig: { url: `https://127.0.0.1:${port}${path}`, caBundle },
        // only this file's config namespace: no other test ever reaches this webhook
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
        rules: [
          {
            apiGroups: ['metallb.io'],
            apiVersions: [p.version],
            resources: [p.plural],
            operations: kind === 'BFDProfile' ? ['CREATE', 'UPDATE', 'DELETE'] : ['CREATE', 'UPDATE'],
          },
        ],
      };
    }),
  };
}

async function deleteWebhookConfiguration(): Promise<void> {
  try {
    await admission.deleteValidatingWebhookConfiguration({ name: CONFIG_NAME });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

async function create(kind: string, name: string, spec: object, namespace = env.configNs): Promise<void> {
  const p = plural[kind] as Resource;
  await c.custom.createNamespacedCustomObject({
    ...GROUP,
    version: p.version,
    namespace,
    plural: p.plural,
    body: { apiVersion: `metallb.io/${p.version}`, kind, metadata: { name, namespace }, spec },
  });
}

async function remove(kind: string, name: string, namespace = env.configNs, dryRun = false): Promise<void> {
  const p = plural[kind] as Resource;
  await c.custom.deleteNamespacedCustomObject({
    ...GROUP,
    version: p.version,
    namespace,
    plural: p.plural,
    name,
    ...(dryRun ? { dryRun: 'All' } : {}),
  });
}

// refusal runs fn, expects the API server to refuse it, and returns the refusal's message.
async function refusal(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof k8s.ApiException)) throw e;
    expect(e.code, String(e.body)).toBeGreaterThanOrEqual(400);
    expect(e.code, String(e.body)).toBeLessThan(500);
    const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string };
    return body.message ?? String(e.body);
  }
  throw new Error('The API server admitted what it should have refused');
}

beforeAll(async () => {
  env = trackEnv(await new TestEnv(c, 'webhook').create());
  certDir = mkdtempSync(join(tmpdir(), 'ironlb-webhook-'));
  const { cert, key } = servingCert(certDir);
  const port = await freePort();
  webhookPort = port;
  ctl = await startController({
    kubeconfig,
    namespace: env.configNs,
    lbClass: env.lbClass,
    webhook: { port, cert, key },
    waitLeader: true,
  });
  env.log = ctl.log;
  await deleteWebhookConfiguration();
  await admission.createValidatingWebhookConfiguration({ body: webhookConfiguration(port, env.configNs) });
  // the API server picks the configuration up within moments: probe with a pool only the webhook refuses
  await waitFor(
    'the API server to call the webhook',
    async () => {
      try {
        await create('IPAddressPool', 'probe', { addresses: ['192.0.2.9-192.0.2.1'] });
      } catch (e) {
        if (e instanceof k8s.ApiException && String(e.body).includes('denied the request')) return true;
        throw e;
      }
      await remove('IPAddressPool', 'probe');
      return false;
    },
    { timeoutMs: 30_000, intervalMs: 300, log: ctl.log },
  );
});

afterAll(async () => {
  // the configuration first: a webhook without its server would refuse every write it covers
  await deleteWebhookConfiguration();
  await stopAllControllers();
  await endWorlds();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

describe('admission webhook', () => {
  it('admits a valid pool and refuses one that overlaps it, naming the pool', async () => {
    await create('IPAddressPool', 'first', { addresses: ['192.0.2.0/28'] });
    // the webhook judges against the controller's cache: wait until the controller has the pool
    await env.waitPoolStatus('first', 'Valid=True', (s) => validCondition(s)?.status === 'True');
    const msg = await refusal(() =>
      create('IPAddressPool', 'second', { addresses: ['192.0.2.8-192.0.2.20'] }),
    );
    expect(msg).toContain('denied the request');
    expect(msg).toContain('overlap');
    expect(msg).toContain('"first"');
    // a neighbour that does not overlap is fine
    await create('IPAddressPool', 'second', { addresses: ['192.0.2.16/28'] });
    await env.waitPoolStatus('second', 'Valid=True', (s) => validCondition(s)?.status === 'True');
  });

  it('refuses an edit that would make a pool overlap another', async () => {
    const msg = await refusal(() =>
      c.custom.patchNamespacedCustomObject(
        {
          ...GROUP,
          version: 'v1beta1',
          namespace: env.configNs,
          plural: 'ipaddresspools',
          name: 'second',
          body: { spec: { addresses: ['192.0.2.12/30'] } },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ),
    );
    expect(msg).toContain('overlap');
    expect(msg).toContain('"first"');
  });

  it('refuses a bad range the schema alone admits', async () => {
    const msg = await refusal(() =>
      create('IPAddressPool', 'reversed', { addresses: ['198.51.100.20-198.51.100.10'] }),
    );
    expect(msg).toContain('denied the request');
    expect(msg).toContain('"198.51.100.20-198.51.100.10" is reversed');
  });

  it('refuses a BGPPeer with a 1 s hold time with a clear message', async () => {
    const msg = await refusal(() =>
      create('BGPPeer', 'short-hold', {
        myASN: 64500,
        peerASN: 64501,
        peerAddress: '192.0.2.254',
        holdTime: '1s',
      }),
    );
    expect(msg).toMatch(/holdTime/);
    expect(msg).toMatch(/0 or at least 3s|at least 3 ?s/);
  });

  it('refuses deleting a BFDProfile a BGPPeer still uses', async () => {
    await create('BFDProfile', 'fast', { receiveInterval: 100, transmitInterval: 100 });
    await create('BGPPeer', 'router', {
      myASN: 64500,
      peerASN: 64501,
      peerAddress: '192.0.2.253',
      bfdProfile: 'fast',
    });
    // the webhook judges against the controller's cache: ask with dry runs until it has the peer
    await waitFor(
      'the webhook to know BGPPeer "router"',
      async () => {
        try {
          await remove('BFDProfile', 'fast', env.configNs, true);
          return false;
        } catch (e) {
          if (e instanceof k8s.ApiException && String(e.body).includes('is used by')) return true;
          throw e;
        }
      },
      { timeoutMs: 15_000, intervalMs: 200, log: ctl.log },
    );
    const msg = await refusal(() => remove('BFDProfile', 'fast'));
    expect(msg).toContain('BFDProfile "fast" is used by BGPPeer "router"');
    await remove('BGPPeer', 'router');
    await waitFor(
      'BFDProfile "fast" to be deletable once unused',
      async () => {
        try {
          await remove('BFDProfile', 'fast');
          return true;
        } catch (e) {
          if (e instanceof k8s.ApiException && String(e.body).includes('is used by')) return false;
          throw e;
        }
      },
      { timeoutMs: 15_000, intervalMs: 300, log: ctl.log },
    );
  });

  it('stays out of other namespaces', async () => {
    // same overlapping pool in a namespace the configuration does not select: only the schema applies
    const other = await env.namespace('elsewhere');
    await create('IPAddressPool', 'overlaps-first', { addresses: ['192.0.2.0/28'] }, other);
    const stored = (await c.custom.getNamespacedCustomObject({
      ...GROUP,
      version: 'v1beta1',
      namespace: other,
      plural: 'ipaddresspools',
      name: 'overlaps-first',
    })) as { spec?: { addresses?: string[] } };
    expect(stored.spec?.addresses).toEqual(['192.0.2.0/28']);
    await remove('IPAddressPool', 'overlaps-first', other);
  });

  it('refuses special addresses, naming the range and the pool', async () => {
    for (const [name, addresses, range] of [
      ['zero', ['0.0.0.0/32'], '0.0.0.0/32 (unspecified)'],
      ['bcast', ['255.255.255.255/32'], '255.255.255.255/32 (broadcast)'],
      ['lo6', ['::1/128'], '::1/128 (loopback)'],
    ] as const) {
      const msg = await refusal(() => create('IPAddressPool', name, { addresses: [...addresses] }));
      expect(msg).toContain(`IPAddressPool "${name}"`);
      expect(msg).toContain(range);
    }
  });

  it('answers oversized and huge reviews sent straight to its port in bounded time; allocation goes on', async () => {
    await create('IPAddressPool', 'burst', { addresses: ['198.51.100.0/28'] });
    await env.waitPoolStatus('burst', 'Valid=True', (s) => validCondition(s)?.status === 'True');
    const review = (entries: number) =>
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'direct',
          kind: { kind: 'IPAddressPool' },
          operation: 'CREATE',
          name: 'huge',
          namespace: env.configNs,
          object: {
            metadata: { name: 'huge', namespace: env.configNs },
            spec: {
              addresses: Array.from(
                { length: entries },
                (_, i) => `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`,
              ),
            },
          },
        },
      });
    // 100,000 entries: the 2 MB review of the report; 50,000 (0.9 MB) fit under the 1 MiB cap and reach the parse step
    const oversized = review(100_000);
    const underCap = review(50_000);
    const ca = readFileSync(join(pkiDir, 'ca.crt'));
    const send = (body: string) =>
      new Promise<{ status: number; text: string; ms: number }>((resolve, reject) => {
        const t0 = performance.now();
        const req = request(
          {
            host: '127.0.0.1',
            port: webhookPort,
            method: 'POST',
            path: '/validate-metallb-io-v1beta1-ipaddresspool',
            headers: { 'content-type': 'application/json' }, // no content-length: the cap must hold while streaming
            ca,
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text, ms: performance.now() - t0 }));
          },
        );
        req.on('error', (e) => resolve({ status: 0, text: e.message, ms: performance.now() - t0 }));
        req.setTimeout(30_000, () => reject(new Error('webhook did not answer within 30 s')));
        req.end(body);
      });
    // baseline: the same wait with the webhook idle
    const b0 = performance.now();
    await env.service('before-burst');
    await env.waitIPs('before-burst', 1, { timeoutMs: 10_000 });
    const baselineMs = performance.now() - b0;
    const t0 = performance.now();
    const answers = Promise.all([
      ...Array.from({ length: 4 }, () => send(oversized)),
      ...Array.from({ length: 4 }, () => send(underCap)),
    ]);
    await env.service('during-burst');
    const ips = await env.waitIPs('during-burst', 1, { timeoutMs: 10_000 });
    const addressMs = performance.now() - t0;
    const results = await answers;
    console.log(
      `webhook burst: ${oversized.length} B ×4 and ${underCap.length} B ×4 answered in ` +
        `${results.map((r) => `${r.status}/${r.ms.toFixed(0)}ms`).join(', ')}; ` +
        `a Service created meanwhile got ${ips[0]} after ${addressMs.toFixed(0)} ms ` +
        `(one created with the webhook idle: ${baselineMs.toFixed(0)} ms)`,
    );
    expect(ips[0]).toMatch(/^198\.51\.100\./);
    // the figure is printed above (the target is under 1 s); the assertion only catches a stalled event loop
    // (the unbounded webhook held it for 70 s) without making a slow CI machine fail on time
    expect(addressMs).toBeLessThan(5000);
    for (const r of results.slice(0, 4)) {
      // refused while streaming: 413, or the socket closed before the client finished sending
      expect([0, 413]).toContain(r.status);
    }
    for (const r of results.slice(4)) {
      expect(r.status === 429 || r.text.includes('more than 1024')).toBe(true);
    }
  });
});
