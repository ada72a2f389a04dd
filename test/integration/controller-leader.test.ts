// Two replicas on one config namespace and Lease: only the holder of the Lease writes; when it dies
// (SIGKILL) the standby takes over once the Lease expires; when it stops (SIGTERM) it hands the Lease back so
// the standby takes over without waiting for expiry.
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../harness/exec.ts';
import {
  startController,
  stopAllControllers,
  waitLeader,
  type ControllerProcess,
} from './support/controller.ts';
import { TestEnv, ingressIPs } from './support/objects.ts';
import { endWorlds, trackEnv, worldClients } from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const c = worldClients(kubeconfig);
const LEASE = 'ironlb-controller';
const LEASE_SECONDS = 4; // support/controller.ts starts every controller with --lease-duration 4

afterEach(stopAllControllers);
afterAll(endWorlds);

async function lease(env: TestEnv) {
  return c.coordination.readNamespacedLease({ name: LEASE, namespace: env.configNs });
}

const writes = async (p: ControllerProcess) => (await p.metric('ironlb_controller_status_writes_total')) ?? 0;

describe('controller: leader election', () => {
  it('lets only the Lease holder write, and hands over on SIGKILL (after expiry) and on SIGTERM (at once)', async () => {
    const env = trackEnv(await new TestEnv(c, 'leader').create());
    await env.pool('lab', { addresses: ['192.0.2.0/28'] });
    const start = (identity: string, waitLeader = false) =>
      startController({ kubeconfig, namespace: env.configNs, lbClass: env.lbClass, identity, waitLeader });

    const r1 = await start('replica-1', true);
    const r2 = await start('replica-2');
    env.log = r1.log;
    expect((await lease(env)).spec?.holderIdentity).toBe('replica-1');
    expect(await r2.metric('ironlb_controller_is_leader')).toBe(0);

    await env.service('s1');
    await env.service('s2');
    expect(await env.waitIPs('s1')).toEqual(['192.0.2.0']);
    expect(await env.waitIPs('s2')).toEqual(['192.0.2.1']);
    // the counter moves once the write's response is back, a moment after the status is visible
    await waitFor('replica-1 to count its writes', async () => (await writes(r1)) >= 2, { log: r1.log });
    // the standby saw the same Services in its cache and wrote nothing
    expect(await writes(r2)).toBe(0);
    expect(await r2.metric('ironlb_controller_reconciles_total', { result: 'ok' })).toBeUndefined();
    const transitions = (await lease(env)).spec?.leaseTransitions ?? 0;

    // crash: nobody releases the Lease, so replica-2 waits for it to expire
    const killedAt = Date.now();
    await r1.kill();
    await env.service('s3');
    env.log = r2.log;
    expect(await env.waitIPs('s3', 1, { timeoutMs: 60_000 })).toEqual(['192.0.2.2']);
    const crashTakeover = Date.now() - killedAt;
    const after = await lease(env);
    expect(after.spec?.holderIdentity).toBe('replica-2');
    expect(after.spec?.leaseTransitions).toBe(transitions + 1);
    expect(await r2.metric('ironlb_controller_is_leader')).toBe(1);
    await waitFor('replica-2 to count its writes', async () => (await writes(r2)) >= 1, { log: r2.log });
    // what replica-1 assigned is what replica-2 restored
    expect(ingressIPs(await env.getService('s1'))).toEqual(['192.0.2.0']);
    expect(ingressIPs(await env.getService('s2'))).toEqual(['192.0.2.1']);

    // graceful stop: replica-2 gives the Lease back on its way out
    const r3 = await start('replica-3');
    expect(await writes(r3)).toBe(0);
    const stoppedAt = Date.now();
    await r2.stop();
    expect(await r2.exited).toBe(0);
    const released = await lease(env);
    expect(
      released.spec?.holderIdentity === 'replica-2',
      'replica-2 still holds the Lease after exiting',
    ).toBe(false);
    await waitLeader(r3);
    const termTakeover = Date.now() - stoppedAt;
    env.log = r3.log;
    await env.service('s4');
    expect(await env.waitIPs('s4')).toEqual(['192.0.2.3']);
    expect((await lease(env)).spec?.holderIdentity).toBe('replica-3');
    console.log(
      `leader takeover: after SIGKILL ${crashTakeover} ms (Lease ${LEASE_SECONDS} s, includes serving s3); ` +
        `after SIGTERM ${termTakeover} ms`,
    );
  });

  it('never lets a standby write while the leader is alive, even under a burst of Services', async () => {
    const env = trackEnv(await new TestEnv(c, 'leader-burst').create());
    await env.pool('lab', { addresses: ['192.0.2.64/26'] });
    const start = (identity: string, waitLeader = false) =>
      startController({ kubeconfig, namespace: env.configNs, lbClass: env.lbClass, identity, waitLeader });
    const leader = await start('burst-1', true);
    const standby = await start('burst-2');
    env.log = leader.log;
    await Promise.all(Array.from({ length: 20 }, (_, i) => env.service(`b${i}`)));
    await waitFor(
      '20 Services with addresses',
      async () => {
        const list = await c.core.listNamespacedService({ namespace: env.ns });
        return list.items.filter((s) => ingressIPs(s).length === 1).length === 20;
      },
      { timeoutMs: 60_000, log: leader.log },
    );
    const ips = (await c.core.listNamespacedService({ namespace: env.ns })).items.map(
      (s) => ingressIPs(s)[0],
    );
    expect(new Set(ips).size).toBe(20);
    await waitFor('the leader to count its writes', async () => (await writes(leader)) >= 20, {
      log: leader.log,
    });
    expect(await writes(standby)).toBe(0);
    expect((await lease(env)).spec?.holderIdentity).toBe('burst-1');
  });
});
