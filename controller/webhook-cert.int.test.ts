// The webhook certificate bootstrap on the real API server: two controllers race to fill an empty Secret,
// one wins, both serve the same certificate, the caBundle holds its CA. The webhook configuration here is
// never called by the API server (it selects no namespace that exists), so no request leaves the machine.
import * as k8s from '@kubernetes/client-node';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../edge/log.ts';
import { ensureWebhookCert } from './webhook-cert.ts';

const kc = new k8s.KubeConfig();
kc.loadFromFile(inject('kubeconfig'));
const core = kc.makeApiClient(k8s.CoreV1Api);
const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
const ns = 'webhook-cert-test';
const log = createLogger('test', 'silent');

describe('webhook certificate bootstrap', () => {
  afterAll(async () => {
    await admission
      .deleteValidatingWebhookConfiguration({ name: 'ironlb-test-webhook' })
      .catch(() => undefined);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('fills the empty Secret once, writes the CA into the caBundle, and serves a certificate for the Service name', async () => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'cert' }, type: 'Opaque' },
    });
    await admission.createValidatingWebhookConfiguration({
      body: {
        metadata: { name: 'ironlb-test-webhook' },
        webhooks: [
          {
            name: 'pools.test.ironlb.io',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            clientConfig: { url: 'https://127.0.0.1:1/never-called' },
            namespaceSelector: { matchLabels: { 'ironlb-test': 'no-namespace-has-this' } },
            rules: [
              {
                apiGroups: ['metallb.io'],
                apiVersions: ['v1beta1'],
                operations: ['CREATE'],
                resources: ['ipaddresspools'],
              },
            ],
          },
        ],
      },
    });
    const opts = (dir: string) => ({
      namespace: ns,
      secret: 'cert',
      service: 'ironlb-webhook',
      configuration: 'ironlb-test-webhook',
      dir,
      log,
    });
    const [a, b] = await Promise.all([
      ensureWebhookCert(kc, opts(mkdtempSync(join(tmpdir(), 'wc-a-')))),
      ensureWebhookCert(kc, opts(mkdtempSync(join(tmpdir(), 'wc-b-')))),
    ]);
    // both replicas serve the one certificate that won the race
    expect(readFileSync(a.certFile, 'utf8')).toBe(readFileSync(b.certFile, 'utf8'));
    const secret = await core.readNamespacedSecret({ name: 'cert', namespace: ns });
    const ca = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString();
    expect(Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString()).toBe(
      readFileSync(a.certFile, 'utf8'),
    );
    const cfg = await admission.readValidatingWebhookConfiguration({ name: 'ironlb-test-webhook' });
    expect(Buffer.from(cfg.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString()).toBe(ca);
    // a TLS client that trusts only the CA accepts the certificate for the Service's DNS name
    const { createServer } = await import('node:https');
    const server = createServer(
      { cert: readFileSync(a.certFile), key: readFileSync(a.keyFile) },
      (_req, res) => res.end('ok'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const authorized = await new Promise<boolean>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ca, servername: `ironlb-webhook.${ns}.svc` }, () => {
        resolve(s.authorized);
        s.end();
      });
      s.on('error', reject);
    });
    server.close();
    expect(authorized).toBe(true);
    // a second start reuses what is there: no new certificate
    const again = await ensureWebhookCert(kc, opts(mkdtempSync(join(tmpdir(), 'wc-c-'))));
    expect(readFileSync(again.certFile, 'utf8')).toBe(readFileSync(a.certFile, 'utf8'));
  });
});
