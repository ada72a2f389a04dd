// Smoke tests proving the control plane is the real thing: the API server allocates health-check node ports,
// and the real endpointslice controller publishes Ready pods.
import { describe, expect, inject, it } from 'vitest';
import {
  clients,
  createReadyPod,
  ensureNamespace,
  registerNode,
  setPodReady,
  waitForEndpoints,
} from '../harness/kube.ts';
import { waitFor } from '../harness/exec.ts';

const c = clients(inject('kubeconfig'));

describe('control plane smoke', () => {
  it('gives a LoadBalancer Service with externalTrafficPolicy Local a healthCheckNodePort', async () => {
    await ensureNamespace(c, 'smoke-a');
    const svc = await c.core.createNamespacedService({
      namespace: 'smoke-a',
      body: {
        metadata: { name: 'etp-local' },
        spec: {
          type: 'LoadBalancer',
          externalTrafficPolicy: 'Local',
          selector: { app: 'x' },
          ports: [{ port: 80 }],
        },
      },
    });
    expect(svc.spec?.healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(svc.spec?.ports?.[0]?.nodePort).toBeGreaterThanOrEqual(30000);
  });

  it('publishes a Pod marked Ready in an EndpointSlice written by the endpointslice controller', async () => {
    await ensureNamespace(c, 'smoke-b');
    // the endpointslice controller skips pods whose Node does not exist
    await registerNode(c, { name: 'node-x', addresses: ['192.0.2.50'], podCIDRs: ['10.244.9.0/24'] });
    await c.core.createNamespacedService({
      namespace: 'smoke-b',
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    const pod = {
      namespace: 'smoke-b',
      name: 'web-1',
      node: 'node-x',
      hostIP: '192.0.2.50',
      podIPs: ['10.244.9.9'],
      labels: { app: 'web' },
      containerPort: 8080,
    };
    await createReadyPod(c, pod);
    expect(await waitForEndpoints(c, 'smoke-b', 'web', 1)).toEqual(['10.244.9.9']);
    const slices = await c.discovery.listNamespacedEndpointSlice({
      namespace: 'smoke-b',
      labelSelector: 'kubernetes.io/service-name=web',
    });
    expect(slices.items[0]?.metadata?.labels?.['endpointslice.kubernetes.io/managed-by']).toBe(
      'endpointslice-controller.k8s.io',
    );
    // not ready any more: the controller flips the endpoint's condition
    await setPodReady(c, pod, false);
    await waitFor('endpoint not ready', async () => {
      const l = await c.discovery.listNamespacedEndpointSlice({
        namespace: 'smoke-b',
        labelSelector: 'kubernetes.io/service-name=web',
      });
      return l.items[0]?.endpoints?.[0]?.conditions?.ready === false;
    });
  });
});
