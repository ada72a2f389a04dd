import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/parse.ts';
import { planL2, type AnnounceNode, type AnnounceService, type L2PlanInput } from './l2plan.ts';

const ns = 'ironlb-system';
const config = parseConfig([
  {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: 'lan', namespace: ns },
    spec: { addresses: ['192.0.2.200-192.0.2.250', '2001:db8::200-2001:db8::250'] },
  },
  {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: 'quiet', namespace: ns },
    spec: { addresses: ['192.0.2.100/30'] },
  },
  {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: 'edge', namespace: ns },
    spec: { addresses: ['198.51.100.0/28'] },
  },
  {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'L2Advertisement',
    metadata: { name: 'lan', namespace: ns },
    spec: { ipAddressPools: ['lan'] },
  },
  {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'L2Advertisement',
    metadata: { name: 'edge-eth1', namespace: ns },
    spec: {
      ipAddressPools: ['edge'],
      interfaces: ['eth1'],
      nodeSelectors: [{ matchLabels: { edge: 'true' } }],
    },
  },
]).config;

const nodes: AnnounceNode[] = [
  { name: 'n1', labels: { edge: 'true' }, networkUnavailable: false },
  { name: 'n2', labels: {}, networkUnavailable: false },
  { name: 'n3', labels: { edge: 'true' }, networkUnavailable: false },
];
const svc = (key: string, ips: string[], extra: Partial<AnnounceService> = {}): AnnounceService => ({
  key,
  labels: {},
  ips,
  externalTrafficPolicy: 'Cluster',
  hasReadyEndpoints: true,
  localEndpointNodes: new Set(),
  ...extra,
});
const plan = (
  self: string,
  services: AnnounceService[],
  alive = ['n1', 'n2', 'n3'],
  extra: Partial<L2PlanInput> = {},
) => planL2({ self, services, nodes, alive: new Set(alive), config, ...extra });

describe('planL2', () => {
  const services = [
    svc('a/web', ['192.0.2.200', '2001:db8::200']),
    svc('a/api', ['192.0.2.201']),
    svc('b/db', ['192.0.2.202']),
    svc('c/quiet', ['192.0.2.101']),
    svc('d/edge', ['198.51.100.1']),
    svc('e/outside', ['203.0.113.9']),
  ];

  it('has exactly one live node announce each address, and says why the others do not', () => {
    const plans = ['n1', 'n2', 'n3'].map((n) => plan(n, services));
    for (const ip of ['192.0.2.200', '2001:db8::200', '192.0.2.201', '192.0.2.202', '198.51.100.1']) {
      expect(plans.filter((p) => p.announce.has(ip))).toHaveLength(1);
    }
    const byKey = new Map(plans[0]?.services.map((s) => [s.key, s]));
    expect(byKey.get('c/quiet')?.decision).toEqual({ announce: false, reason: 'noL2Advertisement' });
    expect(byKey.get('e/outside')?.decision).toEqual({ announce: false, reason: 'noPool' });
    expect(byKey.get('a/web')?.pool).toBe('lan');
  });

  it('keeps a dual-stack Service on one node and spreads three addresses over three nodes', () => {
    const owners = ['n1', 'n2', 'n3'].map((n) => [...plan(n, services.slice(0, 3)).announce.keys()]);
    const web = owners.findIndex((ips) => ips.includes('192.0.2.200'));
    expect(owners[web]).toContain('2001:db8::200');
    expect(owners.map((o) => o.filter((ip) => ip.includes('.')).length).sort()).toEqual([1, 1, 1]);
  });

  it('limits an advertisement to its nodes and interfaces', () => {
    const p2 = plan('n2', services);
    expect(p2.announce.has('198.51.100.1')).toBe(false);
    const owner = ['n1', 'n3'].map((n) => plan(n, services)).find((p) => p.announce.has('198.51.100.1'));
    expect(owner?.announce.get('198.51.100.1')?.interfaces).toEqual(['eth1']);
    expect(owner?.announce.get('192.0.2.200')?.interfaces ?? []).toEqual([]);
  });

  it("moves only the dead node's addresses when its speaker stops", () => {
    const before = new Map(
      ['n1', 'n2', 'n3'].flatMap((n) =>
        [...plan(n, services.slice(0, 3)).announce.keys()].map((ip) => [ip, n]),
      ),
    );
    const dead = before.get('192.0.2.201') as string;
    const alive = ['n1', 'n2', 'n3'].filter((n) => n !== dead);
    const after = new Map(
      alive.flatMap((n) => [...plan(n, services.slice(0, 3), alive).announce.keys()].map((ip) => [ip, n])),
    );
    for (const [ip, owner] of before) if (owner !== dead) expect(after.get(ip)).toBe(owner);
    expect(alive).toContain(after.get('192.0.2.201'));
  });

  it('with externalTrafficPolicy Local announces only from a node with a local endpoint', () => {
    const local = [
      svc('f/local', ['192.0.2.210'], {
        externalTrafficPolicy: 'Local',
        localEndpointNodes: new Set(['n3']),
      }),
    ];
    expect(plan('n3', local).announce.has('192.0.2.210')).toBe(true);
    expect(plan('n1', local).services[0]?.decision).toEqual({ announce: false, reason: 'notOwner' });
    const none = [svc('f/local', ['192.0.2.210'], { externalTrafficPolicy: 'Local' })];
    expect(plan('n1', none).services[0]?.decision).toEqual({ announce: false, reason: 'noLocalEndpoints' });
  });

  it('announces nothing for a Service without ready endpoints, or from nodes excluded by label', () => {
    expect(
      plan('n1', [svc('g/empty', ['192.0.2.220'], { hasReadyEndpoints: false })]).services[0]?.decision,
    ).toEqual({ announce: false, reason: 'noReadyEndpoints' });
    const excluded: AnnounceNode[] = nodes.map((n) => ({
      ...n,
      labels: { ...n.labels, 'node.kubernetes.io/exclude-from-external-load-balancers': '' },
    }));
    const p = planL2({
      self: 'n1',
      services: [svc('h/x', ['192.0.2.221'])],
      nodes: excluded,
      alive: new Set(['n1', 'n2', 'n3']),
      config,
    });
    expect(p.services[0]?.decision).toEqual({ announce: false, reason: 'noEligibleNodes' });
  });
});
