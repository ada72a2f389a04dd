// Dangling references reported where users look: the object's Valid condition, a Warning Event, and `ironlb why`.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../harness/exec.ts';
import { ironlbWhy } from './support/objects.ts';
import { endWorlds, world, worldClients } from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const c = worldClients(kubeconfig);

afterAll(endWorlds);

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

describe('controller: configuration problems', () => {
  it('puts a Valid condition and an Event on an L2Advertisement naming a missing pool, and ironlb why shows it', async () => {
    const { env, ctl } = await world(c, kubeconfig, 'cfgreport', { lab: { addresses: ['192.0.2.64/28'] } });
    const body = (name: string, pools: string[]) => ({
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name, namespace: env.configNs },
      spec: { ipAddressPools: pools },
    });
    const group = {
      group: 'metallb.io',
      version: 'v1beta1',
      namespace: env.configNs,
      plural: 'l2advertisements',
    };
    await c.custom.createNamespacedCustomObject({ ...group, body: body('good', ['lab']) });
    await c.custom.createNamespacedCustomObject({ ...group, body: body('typo', ['lab', 'labb']) });
    const valid = (name: string) =>
      waitFor(
        `the Valid condition of L2Advertisement "${name}"`,
        async () => {
          const o = (await c.custom.getNamespacedCustomObject({ ...group, name })) as {
            status?: { conditions?: Condition[] };
          };
          return o.status?.conditions?.find((x) => x.type === 'Valid');
        },
        { timeoutMs: 15_000, intervalMs: 200, log: ctl.log },
      );
    expect(await valid('good')).toMatchObject({ status: 'True', reason: 'Valid' });
    const typo = await valid('typo');
    expect(typo).toMatchObject({ status: 'False', reason: 'DanglingReference' });
    expect(typo?.message).toContain('IPAddressPool "labb" named in spec.ipAddressPools does not exist');
    const event = await waitFor(
      'a DanglingReference Event on L2Advertisement "typo"',
      async () =>
        (await c.core.listNamespacedEvent({ namespace: env.configNs })).items.find(
          (e) => e.involvedObject.name === 'typo' && e.reason === 'DanglingReference',
        ),
      { timeoutMs: 15_000, intervalMs: 200, log: ctl.log },
    );
    expect(event.type).toBe('Warning');
    expect(event.message).toContain('"labb"');

    await env.service('web');
    await env.waitIPs('web');
    const why = ironlbWhy(kubeconfig, env, 'web');
    expect(why).toContain(
      'L2Advertisement "typo": IPAddressPool "labb" named in spec.ipAddressPools does not exist',
    );

    // creating the pool resolves it
    await env.pool('labb', { addresses: ['192.0.2.96/28'] });
    await waitFor(
      'L2Advertisement "typo" to turn Valid',
      async () => (await valid('typo'))?.status === 'True',
      { timeoutMs: 15_000, intervalMs: 200, log: ctl.log },
    );
  });
});
