// The webhook's certificate in a cluster: the first replica to find the Secret empty makes a CA and a serving
// certificate for <service>.<namespace>.svc (openssl CLI), stores them with an update that carries the
// resourceVersion it read (so two replicas cannot both win), and writes the CA into the caBundle of the
// webhook configuration. Every replica writes the Secret's files to a directory and serves from them; the
// webhook server reloads when they change (controller/webhook.ts).
import * as k8s from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../edge/informer.ts';
import type { Logger } from '../edge/log.ts';

/** WebhookCertOptions names the Secret, the Service the certificate is for, and the webhook configuration. */
export interface WebhookCertOptions {
  namespace: string;
  secret: string;
  service: string;
  configuration: string;
  /** dir receives tls.crt and tls.key. */
  dir: string;
  log: Logger;
}

/** makeCertificates creates a CA and a serving certificate for dnsNames (10 years; rotation: empty the Secret). */
export function makeCertificates(dnsNames: string[]): { ca: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ironlb-webhook-'));
  try {
    const f = (n: string) => join(dir, n);
    const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    ssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.crt'),
      '-days',
      '3650',
      '-subj',
      '/CN=ironlb-webhook-ca',
    ]);
    ssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f('tls.key'),
      '-out',
      f('tls.csr'),
      '-subj',
      `/CN=${dnsNames[0]}`,
    ]);
    writeFileSync(
      f('ext'),
      `subjectAltName=${dnsNames.map((d) => `DNS:${d}`).join(',')}\nextendedKeyUsage=serverAuth\n`,
    );
    ssl([
      'x509',
      '-req',
      '-in',
      f('tls.csr'),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '3650',
      '-out',
      f('tls.crt'),
      '-extfile',
      f('ext'),
    ]);
    return {
      ca: readFileSync(f('ca.crt'), 'utf8'),
      cert: readFileSync(f('tls.crt'), 'utf8'),
      key: readFileSync(f('tls.key'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

/**
 * ensureWebhookCert makes sure the Secret holds a valid certificate for the webhook Service, writes it to
 * options.dir, and puts the CA into the webhook configuration's caBundle. Returns the file paths.
 */
export async function ensureWebhookCert(
  kc: k8s.KubeConfig,
  o: WebhookCertOptions,
): Promise<{ certFile: string; keyFile: string }> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const dns = [
    `${o.service}.${o.namespace}.svc`,
    `${o.service}.${o.namespace}.svc.cluster.local`,
    `${o.service}.${o.namespace}`,
  ];
  for (let attempt = 0; ; attempt++) {
    const secret = await core.readNamespacedSecret({ name: o.secret, namespace: o.namespace });
    const data = secret.data ?? {};
    let ca = unb64(data['ca.crt']);
    let cert = unb64(data['tls.crt']);
    let key = unb64(data['tls.key']);
    const valid = (() => {
      try {
        const x = new X509Certificate(cert);
        return (
          cert &&
          key &&
          ca &&
          // wall time on purpose: a certificate's validTo is a calendar date, checked as TLS clients will
          new Date(x.validTo).getTime() > Date.now() + 7 * 86_400_000 &&
          dns.every((d) => x.checkHost(d) !== undefined)
        );
      } catch {
        return false;
      }
    })();
    if (!valid) {
      ({ ca, cert, key } = makeCertificates(dns));
      secret.data = { ...data, 'ca.crt': b64(ca), 'tls.crt': b64(cert), 'tls.key': b64(key) };
      try {
        // carries the resourceVersion read above: a replica that lost the race gets 409 and reads the winner's
        await core.replaceNamespacedSecret({ name: o.secret, namespace: o.namespace, body: secret });
        o.log.info({ secret: `${o.namespace}/${o.secret}` }, 'webhook certificate created');
      } catch (err) {
        if (err instanceof k8s.ApiException && err.code === 409 && attempt < 5) continue;
        throw err;
      }
    }
    writeFileSync(join(o.dir, 'tls.key'), key, { mode: 0o600 });
    writeFileSync(join(o.dir, 'tls.crt'), cert);
    try {
      const cfg = await admission.readValidatingWebhookConfiguration({ name: o.configuration });
      if ((cfg.webhooks ?? []).some((w) => unb64(w.clientConfig.caBundle) !== ca)) {
        for (const w of cfg.webhooks ?? []) w.clientConfig.caBundle = b64(ca);
        await admission.replaceValidatingWebhookConfiguration({ name: o.configuration, body: cfg });
        o.log.info({ configuration: o.configuration }, 'webhook caBundle updated');
      }
    } catch (err) {
      o.log.warn(
        { configuration: o.configuration, err: errorMessage(err) },
        'could not update the webhook caBundle',
      );
    }
    return { certFile: join(o.dir, 'tls.crt'), keyFile: join(o.dir, 'tls.key') };
  }
}
