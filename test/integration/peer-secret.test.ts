// A BGPPeer whose password Secret is missing, of the wrong type or without its key, and one naming a missing
// BFDProfile, reported where users look (Valid condition, Event, `ironlb why`), by a controller that runs with
// exactly the RBAC of deploy/rbac/controller.yaml: it reads Secrets of its own namespace and no other. With
// RBAC from before that Secret watch the controller says once what is missing, and once when it is granted.
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../harness/exec.ts';
import { ironlbWhy, waitConfigCondition, type ConfigCondition } from './support/objects.ts';
import { logLines } from './support/controller.ts';
import { controllerUser, deployedWorld, removeDeployRbac, restoreDeployRole } from './support/rbac.ts';
import { endWorlds, worldClients } from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const pkiDir = inject('pkiDir');
const apiServer = inject('apiServer');
const c = worldClients(kubeconfig);
const authz = c.kc.makeApiClient(k8s.AuthorizationV1Api);

afterAll(async () => {
  await endWorlds();
  await removeDeployRbac();
});

describe('controller: BGPPeer references', () => {
  it('reports a missing, mistyped or keyless password Secret and a missing BFDProfile, reading only its own namespace', async () => {
    const { env, ctl } = await deployedWorld(
      c,
      'peersecret',
      { lab: { addresses: ['192.0.2.112/28'] } },
      { pkiDir, apiServer },
    );
    const user = controllerUser(env.configNs);
    const mayList = async (namespace: string) =>
      (
        await authz.createSubjectAccessReview({
          body: { spec: { user, resourceAttributes: { namespace, verb: 'list', resource: 'secrets' } } },
        })
      ).status?.allowed;
    expect(await mayList(env.configNs)).toBe(true);
    expect(await mayList(env.ns)).toBe(false);

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
    const valid = (name: string, want: (v: ConfigCondition) => boolean, what: string) =>
      waitConfigCondition(c, { ...peers, name, log: ctl.log }, want, what);
    const secretKey = `${env.configNs}/bgp-pass`;

    // 1. missing Secret: rejected until it appears, with an Event
    const missing = await valid('tor', (v) => v.reason === 'MissingReference', 'to miss its Secret');
    expect(missing).toMatchObject({ status: 'False' });
    expect(missing.message).toBe(
      `BGPPeer "tor": Secret "${secretKey}" named in spec.passwordSecret does not exist`,
    );
    const bfd = await valid('fast-peer', (v) => v.reason === 'MissingReference', 'to miss its BFDProfile');
    expect(bfd.message).toContain('BFDProfile "fast" named in spec.bfdProfile does not exist');
    const event = await env.waitEvent('tor', 'MissingReference', undefined, {
      namespace: env.configNs,
      timeoutMs: 15_000,
    });
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

  it('with RBAC from before the Secret watch, allocates, says once what is missing, and once when it is granted', async () => {
    // the Role of older releases: the webhook certificate's Secret by name, no list/watch of all Secrets
    const { env, ctl } = await deployedWorld(
      c,
      'oldrbac',
      { lab: { addresses: ['192.0.2.112/28'] } },
      { pkiDir, apiServer },
      (r) => (r.resources?.includes('secrets') && !r.resourceNames ? undefined : r),
    );
    await env.service('web');
    await env.waitIPs('web');
    const restarts = async () =>
      (await ctl.metric('ironlb_k8s_watch_restarts_total', { resource: 'secrets' })) ?? 0;
    // five refused attempts: 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s of backoff (±20 %)
    await waitFor('five refused Secret watches', async () => (await restarts()) >= 5, {
      timeoutMs: 30_000,
      intervalMs: 200,
      log: ctl.log,
    });
    const about = (l: Record<string, unknown>) => l.informer === 'secrets';
    const warnings = logLines(ctl).filter((l) => about(l) && l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toContain('watch of secrets refused by the API server');
    expect(warnings[0]?.msg).toContain(
      `the controller needs list and watch on secrets in namespace "${env.configNs}"`,
    );
    expect(warnings[0]?.msg).toContain("apply deploy/'s Role ironlb-controller");
    expect(warnings[0]?.err).toMatch(/HTTP 403: .*cannot list resource "secrets"/);
    // later refusals are debug lines, each further apart
    const retries = logLines(ctl)
      .filter((l) => about(l) && l.msg === 'watch refused; restarting')
      .map((l) => Number(l.retryInMs));
    expect(retries.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < retries.length; i++) expect(retries[i]).toBeGreaterThan(retries[i - 1] ?? 0);

    // the operator applies deploy/'s Role: the next attempt lists, said once
    await restoreDeployRole(c, env.configNs);
    const back = await waitFor(
      'the Secret watch allowed again',
      () => logLines(ctl).find((l) => about(l) && String(l.msg).startsWith('watch of secrets allowed again')),
      { timeoutMs: 30_000, intervalMs: 200, log: ctl.log },
    );
    expect(back.level).toBe('info');
    expect(Number(back.refusedMs)).toBeGreaterThan(5_000);
    expect(logLines(ctl).filter((l) => about(l) && l.level === 'warn')).toHaveLength(1);
  });
});
