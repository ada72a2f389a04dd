// A BGPPeer whose password Secret is missing, of the wrong type or without its key, and one naming a missing
// BFDProfile, reported where users look (Valid condition, Event, `ironlb why`), by a controller that runs with
// exactly the RBAC of deploy/rbac/controller.yaml: it reads Secrets of its own namespace and no other.
import * as k8s from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { clientCert, kubeconfig as renderKubeconfig, type Pki } from '../harness/certs.ts';
import { waitFor } from '../harness/exec.ts';
import { isNotFound } from '../harness/kube.ts';
import { repoRoot } from '../harness/paths.ts';
import { startController } from './support/controller.ts';
import { ironlbWhy, TestEnv } from './support/objects.ts';
import { endWorlds, trackEnv, worldClients } from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const pkiDir = inject('pkiDir');
const apiServer = inject('apiServer');
const c = worldClients(kubeconfig);
const rbac = c.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
const authz = c.kc.makeApiClient(k8s.AuthorizationV1Api);
const clusterScoped: Array<{ kind: string; name: string }> = [];

afterAll(async () => {
  await endWorlds();
  for (const o of clusterScoped.splice(0)) {
    try {
      if (o.kind === 'ClusterRole') await rbac.deleteClusterRole({ name: o.name });
      else await rbac.deleteClusterRoleBinding({ name: o.name });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
});

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

type Doc = {
  kind: string;
  metadata: { name: string; namespace?: string };
  roleRef?: { name: string };
  subjects?: Array<{ namespace?: string }>;
};

/**
 * applyDeployRbac creates the controller's RBAC from deploy/ in namespace `ns` (cluster-scoped names made
 * unique to it) and returns a kubeconfig whose user is the controller's ServiceAccount in `ns`.
 */
async function applyDeployRbac(ns: string): Promise<string> {
  const docs = parseAllDocuments(readFileSync(join(repoRoot, 'deploy/rbac/controller.yaml'), 'utf8')).map(
    (d) => d.toJS() as Doc,
  );
  const unique = (name: string) => `${name}:${ns}`;
  for (const d of docs) {
    if (d.kind === 'ServiceAccount') continue;
    for (const s of d.subjects ?? []) s.namespace = ns;
    if (d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding') {
      d.metadata.name = unique(d.metadata.name);
      if (d.roleRef) d.roleRef.name = unique(d.roleRef.name);
      clusterScoped.push({ kind: d.kind, name: d.metadata.name });
    } else d.metadata.namespace = ns;
    if (d.kind === 'ClusterRole') await rbac.createClusterRole({ body: d as k8s.V1ClusterRole });
    else if (d.kind === 'ClusterRoleBinding')
      await rbac.createClusterRoleBinding({ body: d as k8s.V1ClusterRoleBinding });
    else if (d.kind === 'Role') await rbac.createNamespacedRole({ namespace: ns, body: d as k8s.V1Role });
    else if (d.kind === 'RoleBinding')
      await rbac.createNamespacedRoleBinding({ namespace: ns, body: d as k8s.V1RoleBinding });
    else throw new Error(`unexpected ${d.kind} in deploy/rbac/controller.yaml`);
  }
  // RBAC matches a ServiceAccount subject by user name: a client certificate with that CN is the account
  const dir = mkdtempSync(join(tmpdir(), 'ironlb-sa-'));
  const pki = { dir, caCert: join(pkiDir, 'ca.crt'), caKey: join(pkiDir, 'ca.key') } as Pki;
  const cert = clientCert(pki, 'controller', `system:serviceaccount:${ns}:ironlb-controller`);
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, renderKubeconfig(apiServer, pki, cert));
  return file;
}

describe('controller: BGPPeer references', () => {
  it('reports a missing, mistyped or keyless password Secret and a missing BFDProfile, reading only its own namespace', async () => {
    const env = trackEnv(await new TestEnv(c, 'peersecret').create());
    await env.pool('lab', { addresses: ['192.0.2.112/28'] });
    const saKubeconfig = await applyDeployRbac(env.configNs);
    const user = `system:serviceaccount:${env.configNs}:ironlb-controller`;
    const mayList = async (namespace: string) =>
      (
        await authz.createSubjectAccessReview({
          body: { spec: { user, resourceAttributes: { namespace, verb: 'list', resource: 'secrets' } } },
        })
      ).status?.allowed;
    expect(await mayList(env.configNs)).toBe(true);
    expect(await mayList(env.ns)).toBe(false);

    const ctl = await startController({
      kubeconfig: saKubeconfig,
      namespace: env.configNs,
      lbClass: env.lbClass,
      waitLeader: true,
    });
    env.log = ctl.log;
    const group = { group: 'metallb.io', namespace: env.configNs };
    const peers = { ...group, version: 'v1beta2', plural: 'bgppeers' };
    const peer = (name: string, spec: Record<string, unknown>) =>
      c.custom.createNamespacedCustomObject({
        ...peers,
        body: {
          apiVersion: 'metallb.io/v1beta2',
          kind: 'BGPPeer',
          metadata: { name, namespace: env.configNs },
          spec: { myASN: 64500, peerASN: 64512, peerAddress: '192.0.2.1', ...spec },
        },
      });
    await peer('tor', { passwordSecret: { name: 'bgp-pass' } });
    await peer('fast-peer', { bfdProfile: 'fast' });
    const valid = (name: string, want: (c: Condition) => boolean, what: string) =>
      waitFor(
        `BGPPeer "${name}" ${what}`,
        async () => {
          const o = (await c.custom.getNamespacedCustomObject({ ...peers, name })) as {
            status?: { conditions?: Condition[] };
          };
          const v = o.status?.conditions?.find((x) => x.type === 'Valid');
          return v && want(v) ? v : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200, log: ctl.log },
      );
    const secretKey = `${env.configNs}/bgp-pass`;

    // 1. missing Secret: rejected until it appears, with an Event
    const missing = await valid('tor', (v) => v.reason === 'MissingReference', 'to miss its Secret');
    expect(missing).toMatchObject({ status: 'False' });
    expect(missing.message).toBe(
      `BGPPeer "tor": Secret "${secretKey}" named in spec.passwordSecret does not exist`,
    );
    const bfd = await valid('fast-peer', (v) => v.reason === 'MissingReference', 'to miss its BFDProfile');
    expect(bfd.message).toContain('BFDProfile "fast" named in spec.bfdProfile does not exist');
    const event = await waitFor(
      'a MissingReference Event on BGPPeer "tor"',
      async () =>
        (await c.core.listNamespacedEvent({ namespace: env.configNs })).items.find(
          (e) => e.involvedObject.name === 'tor' && e.reason === 'MissingReference',
        ),
      { timeoutMs: 15_000, intervalMs: 200, log: ctl.log },
    );
    expect([event.type, event.involvedObject.kind, event.message]).toEqual([
      'Warning',
      'BGPPeer',
      missing.message,
    ]);

    // 2. `ironlb why` (which reads no Secret) shows what the controller found
    await env.service('web');
    await env.waitIPs('web');
    const why = ironlbWhy(kubeconfig, env, 'web');
    expect(why).toContain(`unresolved: ${missing.message}`);
    expect(why).toContain('unresolved: BGPPeer "fast-peer": BFDProfile "fast"');

    // 3. the wrong type, then no "password" key, then right: Invalid, Invalid, Valid
    const password = 'hunter2-integration';
    const secret = (type: string, data: Record<string, string>) =>
      c.core.createNamespacedSecret({
        namespace: env.configNs,
        body: {
          metadata: { name: 'bgp-pass', namespace: env.configNs },
          type,
          data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, btoa(v)])),
        },
      });
    await secret('Opaque', { password });
    const opaque = await valid('tor', (v) => v.message.includes('"Opaque"'), 'to see the Opaque Secret');
    expect(opaque).toMatchObject({ status: 'False', reason: 'Invalid' });
    expect(opaque.message).toContain('a BGP password Secret needs type "kubernetes.io/basic-auth"');
    // the type of a Secret cannot change: replace it
    await c.core.deleteNamespacedSecret({ name: 'bgp-pass', namespace: env.configNs });
    await secret('kubernetes.io/basic-auth', { username: password });
    const keyless = await valid('tor', (v) => v.message.includes('no "password" key'), 'to see no key');
    expect(keyless.reason).toBe('Invalid');
    await c.core.patchNamespacedSecret(
      { name: 'bgp-pass', namespace: env.configNs, body: { data: { password: btoa(password) } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await valid('tor', (v) => v.status === 'True', 'to turn Valid');

    // 4. creating the BFDProfile resolves the other peer
    await c.custom.createNamespacedCustomObject({
      ...group,
      version: 'v1beta1',
      plural: 'bfdprofiles',
      body: {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'BFDProfile',
        metadata: { name: 'fast', namespace: env.configNs },
        spec: {},
      },
    });
    await valid('fast-peer', (v) => v.status === 'True', 'to turn Valid');

    // the password never reached the controller's log
    const log = readFileSync(ctl.log, 'utf8');
    expect(log).not.toContain(password);
    expect(log).not.toContain(btoa(password));
    // and the controller wrote nothing it is not allowed to: no RBAC refusal in its log
    expect(log).not.toMatch(/HTTP 403/);
  });
});
