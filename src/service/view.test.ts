import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalSelector, isOurs, slimService, toServiceView } from './view.ts';

function svc(
  opts: {
    annotations?: Record<string, string>;
    spec?: Record<string, unknown>;
    ingress?: Array<Record<string, string>>;
    labels?: Record<string, string>;
  } = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'shop',
      creationTimestamp: '2025-01-01T00:00:00Z',
      labels: opts.labels ?? { app: 'web' },
      annotations: opts.annotations ?? {},
    },
    spec: {
      type: 'LoadBalancer',
      ipFamilies: ['IPv4'],
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 },
        { port: 53, protocol: 'UDP' },
      ],
      selector: { app: 'web' },
      ...opts.spec,
    },
    status: { loadBalancer: { ingress: opts.ingress ?? [] } },
  };
}

describe('toServiceView', () => {
  it('keeps only what allocation needs', () => {
    expect(toServiceView(svc({ ingress: [{ ip: '192.0.2.10' }, { hostname: 'lb.example' }] }))).toEqual({
      key: 'shop/web',
      namespace: 'shop',
      name: 'web',
      labels: { app: 'web' },
      type: 'LoadBalancer',
      creationTimestamp: '2025-01-01T00:00:00Z',
      requestedIPs: [],
      sharingKey: '',
      ports: [
        { protocol: 'TCP', port: 80 },
        { protocol: 'UDP', port: 53 },
      ],
      backendKey: '',
      ipFamilies: ['ipv4'],
      ipFamilyPolicy: 'SingleStack',
      ingressIPs: ['192.0.2.10'],
      deprecatedAnnotations: [],
      problems: [],
    });
  });

  it.each([
    [
      'the annotation, two families',
      { 'metallb.io/loadBalancerIPs': '192.0.2.5, 2001:DB8::5' },
      {},
      ['192.0.2.5', '2001:db8::5'],
      [],
    ],
    ['spec.loadBalancerIP', {}, { loadBalancerIP: '192.0.2.6' }, ['192.0.2.6'], []],
    ['the old prefix', { 'metallb.universe.tf/loadBalancerIPs': '192.0.2.7' }, {}, ['192.0.2.7'], []],
    [
      'both prefixes: metallb.io wins',
      { 'metallb.universe.tf/loadBalancerIPs': '192.0.2.7', 'metallb.io/loadBalancerIPs': '192.0.2.8' },
      {},
      ['192.0.2.8'],
      [],
    ],
    [
      'annotation and spec together',
      { 'metallb.io/loadBalancerIPs': '192.0.2.5' },
      { loadBalancerIP: '192.0.2.6' },
      [],
      ['spec.loadBalancerIP and metallb.io/loadBalancerIPs are both set: use only the annotation'],
    ],
    [
      'two of one family',
      { 'metallb.io/loadBalancerIPs': '192.0.2.5,192.0.2.6' },
      {},
      [],
      [
        'metallb.io/loadBalancerIPs "192.0.2.5,192.0.2.6" has two IPv4 addresses: give at most one per family',
      ],
    ],
    [
      'three addresses',
      { 'metallb.io/loadBalancerIPs': '192.0.2.5,2001:db8::1,192.0.2.6' },
      {},
      [],
      [
        'metallb.io/loadBalancerIPs "192.0.2.5,2001:db8::1,192.0.2.6" has two IPv4 addresses: give at most one per family',
      ],
    ],
    [
      'a bad address',
      { 'metallb.universe.tf/loadBalancerIPs': '192.0.2.x' },
      {},
      [],
      ['metallb.universe.tf/loadBalancerIPs "192.0.2.x" has an invalid address "192.0.2.x"'],
    ],
    [
      'a bad spec.loadBalancerIP',
      {},
      { loadBalancerIP: 'nope' },
      [],
      ['spec.loadBalancerIP "nope" is not a valid IP address'],
    ],
  ])('requested IPs from %s', (_story, annotations, spec, requestedIPs, problems) => {
    const v = toServiceView(svc({ annotations, spec }));
    expect(v.requestedIPs).toEqual(requestedIPs);
    expect(v.problems).toEqual(problems);
  });

  it('reads pool and sharing key under either prefix and lists the deprecated ones', () => {
    const v = toServiceView(
      svc({
        annotations: {
          'metallb.universe.tf/address-pool': 'old',
          'metallb.io/address-pool': 'new',
          'metallb.universe.tf/allow-shared-ip': 'team-a',
        },
      }),
    );
    expect(v.requestedPool).toBe('new');
    expect(v.sharingKey).toBe('team-a');
    expect(v.deprecatedAnnotations).toEqual([
      'metallb.universe.tf/address-pool',
      'metallb.universe.tf/allow-shared-ip',
    ]);
  });

  it.each([
    ['Cluster', { externalTrafficPolicy: 'Cluster' }, ''],
    ['Local', { externalTrafficPolicy: 'Local', selector: { tier: 'fe', app: 'web' } }, 'app=web,tier=fe'],
    ['Local without selector', { externalTrafficPolicy: 'Local', selector: undefined }, ''],
  ])('backend key with externalTrafficPolicy %s', (_story, spec, backendKey) => {
    expect(toServiceView(svc({ spec })).backendKey).toBe(backendKey);
  });

  it.each([
    [
      'ipFamilies first',
      { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'PreferDualStack' },
      ['ipv6', 'ipv4'],
      'PreferDualStack',
    ],
    [
      'clusterIPs when ipFamilies is missing',
      { ipFamilies: undefined, clusterIPs: ['fd00::1'] },
      ['ipv6'],
      'SingleStack',
    ],
    ['IPv4 when nothing says', { ipFamilies: undefined }, ['ipv4'], 'SingleStack'],
    [
      'RequireDualStack',
      { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' },
      ['ipv4', 'ipv6'],
      'RequireDualStack',
    ],
  ])('families: %s', (_story, spec, families, policy) => {
    const v = toServiceView(svc({ spec }));
    expect(v.ipFamilies).toEqual(families);
    expect(v.ipFamilyPolicy).toBe(policy);
  });

  it('rejects what is not a Service', () => {
    expect(() => toServiceView(null)).toThrow(TypeError);
    expect(() => toServiceView({ metadata: { name: 'x' } })).toThrow(TypeError);
  });
});

describe('isOurs', () => {
  it.each([
    [undefined, undefined, true],
    ['other', undefined, false],
    [undefined, 'ironlb', false],
    ['ironlb', 'ironlb', true],
    ['other', 'ironlb', false],
  ])('class %s with flag %s → %s', (cls, flag, want) => {
    const view = toServiceView(svc({ spec: cls ? { loadBalancerClass: cls } : {} }));
    expect(isOurs(view, flag)).toBe(want);
  });
});

describe('canonicalSelector', () => {
  it('equal maps give equal text whatever the key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.string()), (m) => {
        const reversed = Object.fromEntries(Object.entries(m).reverse());
        expect(canonicalSelector(reversed)).toBe(canonicalSelector(m));
      }),
    );
  });
});

describe('slimService', () => {
  const full = () => ({
    ...svc({
      annotations: {
        'metallb.io/address-pool': 'lab',
        'metallb.universe.tf/allow-shared-ip': 'k',
        'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}',
        'example.com/owner': 'team-a',
      },
      spec: {
        externalTrafficPolicy: 'Local',
        sessionAffinity: 'ClientIP',
        internalTrafficPolicy: 'Cluster',
        loadBalancerSourceRanges: ['10.0.0.0/8'],
      },
      ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }],
    }),
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'u1',
      resourceVersion: '7',
      generation: 2,
      creationTimestamp: '2025-01-01T00:00:00Z',
      labels: { app: 'web' },
      annotations: { 'metallb.io/address-pool': 'lab', 'example.com/owner': 'team-a' },
      managedFields: [{ manager: 'kubectl', fieldsV1: {} }],
      finalizers: ['example.com/f'],
    },
  });

  it('keeps identity, versions, our annotations, the read spec fields and the load balancer status', () => {
    const slim = slimService(full());
    expect(slim.metadata).toEqual({
      name: 'web',
      namespace: 'shop',
      uid: 'u1',
      resourceVersion: '7',
      generation: 2,
      creationTimestamp: '2025-01-01T00:00:00Z',
      labels: { app: 'web' },
      annotations: { 'metallb.io/address-pool': 'lab' },
    });
    expect(slim.spec).toEqual({
      type: 'LoadBalancer',
      ipFamilies: ['IPv4'],
      externalTrafficPolicy: 'Local',
      selector: { app: 'web' },
      ports: [
        { port: 80, protocol: 'TCP' },
        { port: 53, protocol: 'UDP' },
      ],
    });
    expect(slim.status).toEqual({ loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] } });
  });

  it('gives toServiceView the same view as the full object', () => {
    const key = fc.constantFrom(
      'metallb.io/address-pool',
      'metallb.io/loadBalancerIPs',
      'metallb.io/allow-shared-ip',
      'metallb.universe.tf/address-pool',
      'metallb.universe.tf/loadBalancerIPs',
      'metallb.universe.tf/allow-shared-ip',
      'example.com/other',
    );
    const value = fc.constantFrom('lab', '192.0.2.7', '192.0.2.7,2001:db8::7', 'k', 'bad ip', '');
    const spec = fc.record(
      {
        type: fc.constantFrom('LoadBalancer', 'ClusterIP', 'NodePort'),
        loadBalancerClass: fc.constantFrom('ironlb.io/x', 'other'),
        loadBalancerIP: fc.constantFrom('192.0.2.9', '2001:db8::9', 'nope'),
        ipFamilies: fc.subarray(['IPv4', 'IPv6']),
        ipFamilyPolicy: fc.constantFrom('SingleStack', 'PreferDualStack', 'RequireDualStack'),
        clusterIPs: fc.subarray(['10.96.0.1', 'fd00::1']),
        externalTrafficPolicy: fc.constantFrom('Local', 'Cluster'),
        sessionAffinity: fc.constantFrom('None', 'ClientIP'),
        ports: fc.array(
          fc.record(
            { port: fc.integer({ min: 1, max: 65535 }), protocol: fc.constantFrom('TCP', 'UDP', 'SCTP') },
            { requiredKeys: ['port'] },
          ),
          { maxLength: 3 },
        ),
        selector: fc.dictionary(fc.constantFrom('app', 'tier'), fc.constantFrom('a', 'b')),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.dictionary(key, value), spec, (annotations, s) => {
        const original = { ...svc({ annotations }), spec: s };
        expect(toServiceView(slimService(structuredClone(original)))).toEqual(toServiceView(original));
      }),
    );
  });

  it('leaves what is not an object as it is', () => {
    expect(slimService(undefined)).toBeUndefined();
    expect(slimService('x')).toBe('x');
  });
});
