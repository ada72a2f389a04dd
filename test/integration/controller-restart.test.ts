// Status is the state of record: a restarted (or crashed) controller takes back what Service status says
// before it assigns anything, so nobody's address moves and a pending Service cannot steal one.
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { mergePatch } from '../harness/kube.ts';
import { startController, stopAllControllers, type ControllerProcess } from './support/controller.ts';
import { POOL_ANNOTATION, TestEnv, ingressIPs } from './support/objects.ts';
import {
  allReconciled as allReconciledOf,
  endWorlds,
  trackEnv,
  world,
  worldClients,
} from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const c = worldClients(kubeconfig);

afterEach(stopAllControllers);
afterAll(endWorlds);

async function restart(
  env: TestEnv,
  old: ControllerProcess,
  how: 'stop' | 'kill',
): Promise<ControllerProcess> {
  await (how === 'stop' ? old.stop() : old.kill());
  const ctl = await startController({
    kubeconfig,
    namespace: env.configNs,
    lbClass: env.lbClass,
    waitLeader: true,
  });
  env.log = ctl.log;
  return ctl;
}

const allReconciled = (ctl: ControllerProcess) => allReconciledOf(c, ctl);

// writeStatus puts addresses into a Service's status as an earlier controller would have.
async function writeStatus(env: TestEnv, name: string, ips: string[], pool: string): Promise<void> {
  await env.patchService(name, { metadata: { annotations: { [POOL_ANNOTATION]: pool } } });
  await c.core.patchNamespacedServiceStatus(
    {
      name,
      namespace: env.ns,
      body: { status: { loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) } } },
    },
    mergePatch,
  );
}

describe('controller: restart', () => {
  for (const how of ['stop', 'kill'] as const) {
    it(`keeps every address across a ${how === 'stop' ? 'graceful restart' : 'crash (SIGKILL) and restart'}`, async () => {
      const w = await world(c, kubeconfig, `restart-${how}`, { lab: { addresses: ['192.0.2.0/29'] } });
      const { env } = w;
      await env.service('a');
      expect(await env.waitIPs('a')).toEqual(['192.0.2.0']);
      await env.service('b');
      expect(await env.waitIPs('b')).toEqual(['192.0.2.1']);
      await env.service('gap');
      expect(await env.waitIPs('gap')).toEqual(['192.0.2.2']);
      const versions = async () =>
        Promise.all(['b', 'gap'].map(async (n) => (await env.getService(n))?.metadata?.resourceVersion));
      // a hole below b: a controller that forgot the status would hand .1 out again
      await env.deleteService('a');
      await env.waitPoolStatus('lab', 'two assigned', (s) => s.assignedIPv4 === 2);
      const before = await versions();

      const ctl = await restart(env, w.ctl, how);
      // every Service of the cluster is reconciled once after the restart; nothing about b or gap changed, so
      // nothing is written
      await allReconciled(ctl);
      expect(await ctl.metric('ironlb_controller_status_writes_total')).toBe(0);
      expect(ingressIPs(await env.getService('b'))).toEqual(['192.0.2.1']);
      expect(ingressIPs(await env.getService('gap'))).toEqual(['192.0.2.2']);
      await env.service('c');
      expect(await env.waitIPs('c')).toEqual(['192.0.2.0']);
      await env.service('d');
      expect(await env.waitIPs('d')).toEqual(['192.0.2.3']);
      expect(ingressIPs(await env.getService('b'))).toEqual(['192.0.2.1']);
      expect(ingressIPs(await env.getService('gap'))).toEqual(['192.0.2.2']);
      // b and gap were never written to again
      expect(await versions()).toEqual(before);
      for (const name of ['b', 'gap'])
        expect((await env.events(name)).map((e) => e.reason)).not.toContain('ClearAssignment');
    });
  }

  it('restores Services holding addresses before serving a pending one, so the pending one cannot steal', async () => {
    const env = trackEnv(await new TestEnv(c, 'restart-restore').create());
    await env.pool('one', { addresses: ['192.0.2.50/32'] });
    // no controller yet: "pending" is older and has nothing; "holder" got the only address from a former run
    await env.service('pending');
    await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has one-second resolution
    await env.service('holder');
    await writeStatus(env, 'holder', ['192.0.2.50'], 'one');

    const ctl = await startController({
      kubeconfig,
      namespace: env.configNs,
      lbClass: env.lbClass,
      waitLeader: true,
    });
    env.log = ctl.log;
    await allReconciled(ctl);
    const ev = await env.waitEvent('pending', 'AllocationFailed');
    expect(ev.message).toContain('no available IPs');
    expect(ingressIPs(await env.getService('holder'))).toEqual(['192.0.2.50']);
    expect(ingressIPs(await env.getService('pending'))).toEqual([]);
    expect((await env.events('holder')).map((e) => e.reason)).not.toContain('ClearAssignment');
    expect(await ctl.metric('ironlb_controller_status_writes_total')).toBe(0);

    // and once the holder goes, the pending one gets the address
    await env.deleteService('holder');
    expect(await env.waitIPs('pending')).toEqual(['192.0.2.50']);
  });

  it('settles two Services claiming one address in status in favour of the older', async () => {
    const env = trackEnv(await new TestEnv(c, 'restart-contested').create());
    await env.pool('two', { addresses: ['192.0.2.60/31'] });
    await env.service('older');
    await new Promise((r) => setTimeout(r, 1100));
    await env.service('newer');
    // e.g. restored from a backup: both say they hold .61, and neither allows sharing
    await writeStatus(env, 'newer', ['192.0.2.61'], 'two');
    await writeStatus(env, 'older', ['192.0.2.61'], 'two');

    const ctl = await startController({
      kubeconfig,
      namespace: env.configNs,
      lbClass: env.lbClass,
      waitLeader: true,
    });
    env.log = ctl.log;
    expect(await env.waitIPs('newer')).toHaveLength(1);
    await env.waitService(
      'newer',
      'moved off the contested address',
      (s) => ingressIPs(s).join() === '192.0.2.60',
    );
    expect(ingressIPs(await env.getService('older'))).toEqual(['192.0.2.61']);
    const cleared = await env.waitEvent('newer', 'ClearAssignment');
    expect(cleared.message).toContain('192.0.2.61');
    expect(cleared.message).toContain('ctl-restart-contested/older');
  });
});
