// A Service whose writes keep failing does not stay pending silently: from the third failure in a row the
// controller records a Warning Event `ReconcileFailed` on it saying why (issue 11: the stuck-pending case ends
// in an Event). The failure is real: the controller runs with deploy/'s RBAC minus services/status.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../harness/exec.ts';
import { ingressIPs } from './support/objects.ts';
import { deployedWorld, removeDeployRbac } from './support/rbac.ts';
import { endWorlds, worldClients } from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const c = worldClients(kubeconfig);

afterAll(async () => {
  await endWorlds();
  await removeDeployRbac();
});

describe('controller: a Service it cannot converge', () => {
  it('gets a ReconcileFailed Event naming the Service and the refusal, once per message', async () => {
    const { env, ctl } = await deployedWorld(
      c,
      'recfail',
      { lab: { addresses: ['192.0.2.128/28'] } },
      { pkiDir: inject('pkiDir'), apiServer: inject('apiServer') },
      (r) => (r.resources?.includes('services/status') ? undefined : r),
    );
    await env.service('stuck');
    const key = `${env.ns}/stuck`;
    const event = await waitFor(
      `a ReconcileFailed Event on Service "${key}"`,
      async () =>
        (await c.core.listNamespacedEvent({ namespace: env.ns })).items.find(
          (e) => e.involvedObject.name === 'stuck' && e.reason === 'ReconcileFailed',
        ),
      { timeoutMs: 30_000, intervalMs: 250, log: ctl.log },
    );
    expect(event.type).toBe('Warning');
    expect(event.message).toMatch(new RegExp(`^Could not converge Service "${key}" \\(3 attempts`));
    expect(event.message).toContain('HTTP 403');
    expect(event.message).toContain('services/status');
    expect(ingressIPs(await env.getService('stuck'))).toEqual([]);
    // the failures go on with the same message: still one Event (count 1)
    await new Promise((r) => setTimeout(r, 2_000));
    const again = (await c.core.listNamespacedEvent({ namespace: env.ns })).items.filter(
      (e) => e.involvedObject.name === 'stuck' && e.reason === 'ReconcileFailed',
    );
    expect(again.map((e) => e.count ?? 1)).toEqual([1]);
    expect(readFileSync(ctl.log, 'utf8')).toContain('reconcile failed');
  });
});
