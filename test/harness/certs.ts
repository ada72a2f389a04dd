// Certificates for the control plane, made with the openssl CLI: a CA, the API server's serving certificate,
// client certificates (admin in system:masters, and one per component) and the service-account key pair.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.ts';

/** ClientCert is a client certificate and key file pair. */
export interface ClientCert {
  cert: string;
  key: string;
}

/** Pki is every file the control plane needs, under one directory. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
  admin: ClientCert;
}

function openssl(args: string[]): void {
  run(['openssl', ...args]);
}

/**
 * issue creates key <name>.key and certificate <name>.crt in dir, signed by the CA, with the given subject and
 * openssl extensions (key usage, SANs).
 */
function issue(
  pki: Pick<Pki, 'dir' | 'caCert' | 'caKey'>,
  name: string,
  subject: string,
  extensions: string,
): ClientCert {
  const f = (ext: string) => join(pki.dir, `${name}.${ext}`);
  writeFileSync(f('ext'), `${extensions}keyUsage=critical,digitalSignature,keyEncipherment\n`);
  openssl(['genrsa', '-out', f('key'), '2048']);
  openssl(['req', '-new', '-key', f('key'), '-subj', subject, '-out', f('csr')]);
  openssl([
    'x509',
    '-req',
    '-in',
    f('csr'),
    '-CA',
    pki.caCert,
    '-CAkey',
    pki.caKey,
    '-CAcreateserial',
    '-days',
    '365',
    '-out',
    f('crt'),
    '-extfile',
    f('ext'),
  ]);
  return { cert: f('crt'), key: f('key') };
}

/** clientCert issues (once) a client certificate for CN=user, O=group in pki.dir. */
export function clientCert(pki: Pki, name: string, user: string, group?: string): ClientCert {
  const key = join(pki.dir, `${name}.key`);
  const cert = join(pki.dir, `${name}.crt`);
  if (existsSync(cert)) return { cert, key };
  return issue(pki, name, group ? `/O=${group}/CN=${user}` : `/CN=${user}`, 'extendedKeyUsage=clientAuth\n');
}

/**
 * makePki creates (or reuses) the CA, a serving certificate valid for the given IP addresses and DNS names,
 * the admin client certificate and the service-account key pair.
 */
export function makePki(dir: string, options: { ips: string[]; dnsNames?: string[] }): Pki {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  const pki: Pki = {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('apiserver.crt'),
    serverKey: p('apiserver.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
    admin: { cert: p('admin.crt'), key: p('admin.key') },
  };
  if (!existsSync(pki.caCert)) {
    openssl(['genrsa', '-out', pki.caKey, '2048']);
    openssl([
      'req',
      '-x509',
      '-new',
      '-nodes',
      '-key',
      pki.caKey,
      '-subj',
      '/CN=ironlb-lab-ca',
      '-days',
      '3650',
      '-out',
      pki.caCert,
    ]);
  }
  if (!existsSync(pki.serverCert)) {
    const dns = [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      ...(options.dnsNames ?? []),
    ];
    const san = [...options.ips.map((ip) => `IP:${ip}`), ...dns.map((d) => `DNS:${d}`)].join(',');
    issue(pki, 'apiserver', '/CN=kube-apiserver', `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  }
  if (!existsSync(pki.saKey)) {
    openssl(['genrsa', '-out', pki.saKey, '2048']);
    openssl(['rsa', '-in', pki.saKey, '-pubout', '-out', pki.saPub]);
  }
  clientCert(pki, 'admin', 'ironlb-admin', 'system:masters');
  return pki;
}

/** kubeconfig renders a kubeconfig file for server with a client certificate. */
export function kubeconfig(server: string, pki: Pki, client: ClientCert): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: ironlb-lab
  cluster:
    server: ${server}
    certificate-authority: ${pki.caCert}
users:
- name: user
  user:
    client-certificate: ${client.cert}
    client-key: ${client.key}
contexts:
- name: ironlb-lab
  context:
    cluster: ironlb-lab
    user: user
current-context: ironlb-lab
`;
}
