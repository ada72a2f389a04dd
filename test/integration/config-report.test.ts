// Dangling references reported where users look: the object's Valid condition, a Warning Event, and
// `ironlb why`; and cleared when the reference appears (L2Advertisement: a missing pool; BGPAdvertisement: a
// missing pool or Community alias).
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ironlbWhy, waitConfigCondition, type ConfigCondition } from './support/objects.ts';
import { endWorlds, world, worldClients } from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const c = worldClients(kubeconfig);

afterAll(endWorlds);

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
    const valid = (name: string, want: (v: ConfigCondition) => boolean = () => true, what = 'to have one') =>
      waitConfigCondition(c, { ...group, name, log: ctl.log }, want, what);
    expect(await valid('good')).toMatchObject({ status: 'True', reason: 'Valid' });
    const typo = await valid('typo');
    expect(typo).toMatchObject({ status: 'False', reason: 'DanglingReference' });
    expect(typo?.message).toContain('IPAddressPool "labb" named in spec.ipAddressPools does not exist');
    const event = await env.waitEvent('typo', 'DanglingReference', undefined, {
      namespace: env.configNs,
      timeoutMs: 15_000,
    });
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
    await valid('typo', (v) => v.status === 'True', 'to turn Valid');
  });

  it('reports a BGPAdvertisement naming a missing pool or Community alias until each appears', async () => {
    const { env, ctl } = await world(c, kubeconfig, 'cfgbgpadv', { lab: { addresses: ['192.0.2.64/28'] } });
    const advs = { namespace: env.configNs, version: 'v1beta1', plural: 'bgpadvertisements' };
    const adv = (name: string, spec: Record<string, unknown>) =>
      c.custom.createNamespacedCustomObject({
        ...advs,
        group: 'metallb.io',
        body: {
          apiVersion: 'metallb.io/v1beta1',
          kind: 'BGPAdvertisement',
          metadata: { name, namespace: env.configNs },
          spec,
        },
      });
    await adv('to-gone', { ipAddressPools: ['lab', 'gone'] });
    await adv('tagged', { ipAddressPools: ['lab'], communities: ['tor-local'] });
    const valid = (name: string, want: (v: ConfigCondition) => boolean, what: string) =>
      waitConfigCondition(c, { ...advs, name, log: ctl.log }, want, what);
    // the Event says what the condition says, as a Warning on the BGPAdvertisement
    const expectEvent = async (name: string, v: ConfigCondition) => {
      const e = await env.waitEvent(name, v.reason, undefined, {
        namespace: env.configNs,
        timeoutMs: 15_000,
      });
      expect([e.type, e.involvedObject.kind, e.message]).toEqual(['Warning', 'BGPAdvertisement', v.message]);
    };

    // 1. a missing pool: still in use for "lab", reported as dangling
    const gone = await valid('to-gone', (v) => v.status === 'False', 'to report its missing pool');
    expect(gone.reason).toBe('DanglingReference');
    expect(gone.message).toContain('IPAddressPool "gone" named in spec.ipAddressPools does not exist');
    await expectEvent('to-gone', gone);

    // 2. a missing Community alias: rejected until the Community defines it
    const tagged = await valid('tagged', (v) => v.status === 'False', 'to miss its Community alias');
    expect(tagged.reason).toBe('MissingReference');
    expect(tagged.message).toContain('community "tor-local" is neither a value');
    await expectEvent('tagged', tagged);

    // 3. `ironlb why` of a Service from "lab" shows both
    await env.service('web');
    await env.waitIPs('web');
    const why = ironlbWhy(kubeconfig, env, 'web');
    expect(why).toContain(
      `unresolved: BGPAdvertisement "to-gone": IPAddressPool "gone" named in spec.ipAddressPools`,
    );
    expect(why).toContain(`unresolved: BGPAdvertisement "tagged": community "tor-local"`);

    // 4. the references appear: both turn Valid, and `ironlb why` no longer mentions them
    await env.pool('gone', { addresses: ['192.0.2.96/28'] });
    await c.custom.createNamespacedCustomObject({
      ...advs,
      group: 'metallb.io',
      plural: 'communities',
      body: {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'Community',
        metadata: { name: 'aliases', namespace: env.configNs },
        spec: { communities: [{ name: 'tor-local', value: '64512:100' }] },
      },
    });
    await valid('to-gone', (v) => v.status === 'True', 'to turn Valid');
    await valid('tagged', (v) => v.status === 'True', 'to turn Valid');
    expect(ironlbWhy(kubeconfig, env, 'web')).not.toContain('BGPAdvertisement');
  });
});
