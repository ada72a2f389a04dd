import { describe, expect, it } from 'vitest';
import { nodeViews, peerAddresses, serviceViews, type ServiceObject } from './snapshot.ts';

const lb = (name: string, extra: ServiceObject['spec'] = {}, ips = ['192.0.2.1']): ServiceObject => ({
  metadata: { namespace: 'app', name, labels: { tier: name } },
  spec: { type: 'LoadBalancer', ...extra },
  status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
});

describe('the speaker snapshot', () => {
  it('keeps LoadBalancer Services of our class with an address, joined with their endpoints', () => {
    const views = serviceViews(
      [
        lb('web', { externalTrafficPolicy: 'Local' }),
        lb('pending', {}, []),
        lb('other-class', { loadBalancerClass: 'someone-else' }),
        { metadata: { namespace: 'app', name: 'plain' }, spec: { type: 'ClusterIP' } },
      ],
      [
        {
          metadata: { namespace: 'app', labels: { 'kubernetes.io/service-name': 'web' } },
          endpoints: [{ nodeName: 'n2' }, { nodeName: 'n3', conditions: { ready: false } }],
        },
      ],
      undefined,
    );
    expect(views).toEqual([
      {
        key: 'app/web',
        labels: { tier: 'web' },
        ips: ['192.0.2.1'],
        externalTrafficPolicy: 'Local',
        hasReadyEndpoints: true,
        localEndpointNodes: new Set(['n2']),
      },
    ]);
  });

  it('reads Nodes: NetworkUnavailable, and the InternalIP of every other node for heartbeats', () => {
    const nodes = [
      { metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.11' }] } },
      {
        metadata: { name: 'n2', labels: { a: 'b' } },
        status: {
          conditions: [{ type: 'NetworkUnavailable', status: 'True' }],
          addresses: [
            { type: 'Hostname', address: 'n2' },
            { type: 'InternalIP', address: '192.0.2.12' },
          ],
        },
      },
      { metadata: { name: 'n3' } },
    ];
    expect(nodeViews(nodes)).toEqual([
      { name: 'n1', labels: {}, networkUnavailable: false },
      { name: 'n2', labels: { a: 'b' }, networkUnavailable: true },
      { name: 'n3', labels: {}, networkUnavailable: false },
    ]);
    expect(peerAddresses(nodes, 'n1')).toEqual([{ node: 'n2', address: '192.0.2.12' }]);
  });
});
