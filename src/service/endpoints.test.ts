import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { endpointUsable, slimEndpointSlice, summariseEndpoints, type SliceView } from './endpoints.ts';

describe('endpointUsable', () => {
  it.each([
    ['no conditions (nil means ready)', undefined, true],
    ['ready', { ready: true }, true],
    ['ready unknown', { ready: null }, true],
    ['not ready', { ready: false }, false],
    ['not ready but serving while terminating', { ready: false, serving: true, terminating: true }, true],
    ['serving but not terminating (starting up)', { ready: false, serving: true, terminating: false }, false],
  ])('%s', (_, conditions, usable) => {
    expect(endpointUsable(conditions)).toBe(usable);
  });
});

describe('summariseEndpoints', () => {
  const slice = (ns: string, svc: string | undefined, eps: SliceView['endpoints']): SliceView => ({
    metadata: { namespace: ns, labels: svc ? { 'kubernetes.io/service-name': svc } : {} },
    endpoints: eps,
  });

  it('merges the slices of one Service and keeps only nodes with a usable endpoint', () => {
    const m = summariseEndpoints([
      slice('app', 'web', [{ nodeName: 'n1' }, { nodeName: 'n2', conditions: { ready: false } }]),
      slice('app', 'web', [
        { nodeName: 'n3', conditions: { ready: false, serving: true, terminating: true } },
      ]),
      slice('app', 'idle', [{ nodeName: 'n1', conditions: { ready: false } }]),
      slice('app', undefined, [{ nodeName: 'n9' }]),
    ]);
    expect(m.get('app/web')).toEqual({ ready: true, nodes: new Set(['n1', 'n3']) });
    expect(m.get('app/idle')).toEqual({ ready: false, nodes: new Set() });
    expect([...m.keys()].sort()).toEqual(['app/idle', 'app/web']);
  });
});

describe('slimEndpointSlice', () => {
  const full = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: {
      name: 'web-abc12',
      namespace: 'app',
      uid: 'u1',
      resourceVersion: '42',
      generation: 3,
      generateName: 'web-',
      labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'x' },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2025-01-01T00:00:00Z' },
      ownerReferences: [{ kind: 'Service', name: 'web', uid: 's1' }],
      managedFields: [{ manager: 'kube-controller-manager' }],
    },
    endpoints: [
      {
        addresses: ['10.244.1.5'],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: 'n1',
        zone: 'z1',
        hostname: 'web-0',
        targetRef: { kind: 'Pod', name: 'web-0', namespace: 'app', uid: 'p1' },
        hints: { forZones: [{ name: 'z1' }] },
      },
    ],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };

  it('keeps identity, the Service label, addressType and per endpoint addresses, conditions and node', () => {
    expect(slimEndpointSlice(structuredClone(full))).toEqual({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      addressType: 'IPv4',
      metadata: {
        name: 'web-abc12',
        namespace: 'app',
        uid: 'u1',
        resourceVersion: '42',
        labels: { 'kubernetes.io/service-name': 'web' },
      },
      endpoints: [
        {
          addresses: ['10.244.1.5'],
          conditions: { ready: true, serving: true, terminating: false },
          nodeName: 'n1',
        },
      ],
    });
  });

  it('gives summariseEndpoints (the readiness rule) the same summary as the full objects', () => {
    const flag = fc.constantFrom(true, false, null, undefined);
    const endpoint = fc.record(
      {
        addresses: fc.constant(['10.244.0.9']),
        conditions: fc.option(
          fc.record({ ready: flag, serving: flag, terminating: flag }, { requiredKeys: [] }),
          { nil: null },
        ),
        nodeName: fc.constantFrom('n1', 'n2', 'n3', ''),
        zone: fc.constant('z'),
        targetRef: fc.record({ kind: fc.constant('Pod'), name: fc.constantFrom('a', 'b') }),
      },
      { requiredKeys: ['addresses'] },
    );
    const anySlice = fc.record(
      {
        addressType: fc.constantFrom('IPv4', 'IPv6'),
        metadata: fc.record(
          {
            name: fc.constantFrom('s1', 's2'),
            namespace: fc.constantFrom('app', 'db'),
            labels: fc.dictionary(
              fc.constantFrom('kubernetes.io/service-name', 'endpointslice.kubernetes.io/managed-by'),
              fc.constantFrom('web', 'api', ''),
            ),
          },
          { requiredKeys: [] },
        ),
        endpoints: fc.option(fc.array(endpoint, { maxLength: 4 }), { nil: null }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(anySlice, { maxLength: 5 }), (slices) => {
        const slim = structuredClone(slices).map(slimEndpointSlice);
        expect(summariseEndpoints(slim)).toEqual(summariseEndpoints(slices));
      }),
    );
  });

  it('leaves what is not an object as it is', () => {
    expect(slimEndpointSlice(undefined)).toBeUndefined();
    expect(slimEndpointSlice('x')).toBe('x');
  });
});
