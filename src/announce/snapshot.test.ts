import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { slimEndpointSlice } from '../service/endpoints.ts';
import {
  nodeViews,
  peerAddresses,
  serviceViews,
  slimSpeakerService,
  type ServiceObject,
} from './snapshot.ts';

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

describe('slimSpeakerService', () => {
  it('keeps identity, version, generation, labels, the read spec fields and the ingress addresses', () => {
    const full = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web',
        namespace: 'app',
        uid: 'u1',
        resourceVersion: '7',
        generation: 2,
        creationTimestamp: '2025-01-01T00:00:00Z',
        labels: { tier: 'web' },
        annotations: { 'metallb.io/address-pool': 'lab', 'example.com/owner': 'team-a' },
        managedFields: [{ manager: 'kubectl' }],
      },
      spec: {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        selector: { app: 'web' },
        ports: [{ port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 }],
        clusterIP: '10.96.0.10',
        sessionAffinity: 'None',
      },
      status: {
        loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] },
        conditions: [{ type: 'x', status: 'True' }],
      },
    };
    expect(slimSpeakerService(structuredClone(full))).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web',
        namespace: 'app',
        uid: 'u1',
        resourceVersion: '7',
        generation: 2,
        labels: { tier: 'web' },
      },
      spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local' },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
    });
  });

  it('gives serviceViews (what every plan reads) the same views, with slimmed EndpointSlices', () => {
    const name = fc.constantFrom('web', 'api', 'db');
    const service = fc.record(
      {
        metadata: fc.record(
          {
            name,
            namespace: fc.constantFrom('app', 'ops'),
            uid: fc.constantFrom('u1', 'u2'),
            labels: fc.dictionary(fc.constantFrom('tier', 'app'), fc.constantFrom('a', 'b')),
            annotations: fc.dictionary(fc.constantFrom('metallb.io/address-pool', 'x/y'), fc.constant('v')),
          },
          { requiredKeys: [] },
        ),
        spec: fc.record(
          {
            type: fc.constantFrom('LoadBalancer', 'ClusterIP', 'NodePort'),
            loadBalancerClass: fc.constantFrom('ironlb.io/x', 'other'),
            externalTrafficPolicy: fc.constantFrom('Local', 'Cluster'),
            selector: fc.dictionary(fc.constantFrom('app'), fc.constantFrom('a', 'b')),
            ports: fc.array(fc.record({ port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 2 }),
          },
          { requiredKeys: [] },
        ),
        status: fc.record(
          {
            loadBalancer: fc.record(
              {
                ingress: fc.array(
                  fc.record(
                    { ip: fc.constantFrom('192.0.2.1', '2001:db8::1', ''), ipMode: fc.constant('VIP') },
                    { requiredKeys: [] },
                  ),
                  { maxLength: 2 },
                ),
              },
              { requiredKeys: [] },
            ),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    const slice = fc.record({
      metadata: fc.record({
        namespace: fc.constantFrom('app', 'ops'),
        labels: fc.record({ 'kubernetes.io/service-name': name }),
      }),
      endpoints: fc.array(
        fc.record(
          {
            addresses: fc.constant(['10.244.0.9']),
            nodeName: fc.constantFrom('n1', 'n2'),
            conditions: fc.record({ ready: fc.boolean() }, { requiredKeys: [] }),
            targetRef: fc.record({ kind: fc.constant('Pod'), name }),
          },
          { requiredKeys: ['addresses'] },
        ),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(
        fc.array(service, { maxLength: 6 }),
        fc.array(slice, { maxLength: 6 }),
        fc.constantFrom(undefined, 'ironlb.io/x'),
        (services, slices, lbClass) => {
          const slim = serviceViews(
            structuredClone(services).map(slimSpeakerService),
            structuredClone(slices).map(slimEndpointSlice),
            lbClass,
          );
          expect(slim).toEqual(serviceViews(services, slices, lbClass));
        },
      ),
    );
  });

  it('leaves what is not an object as it is', () => {
    expect(slimSpeakerService(undefined)).toBeUndefined();
    expect(slimSpeakerService(7)).toBe(7);
  });
});
