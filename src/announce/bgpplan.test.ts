import { describe, expect, it } from 'vitest';
import { pathKey } from '../bgp/path.ts';
import { parseConfig } from '../config/parse.ts';
import { planBgp, type BgpPlan, type BgpPlanInput } from './bgpplan.ts';
import type { AnnounceNode, AnnounceService } from './l2plan.ts';

const ns = 'ironlb-system';
const obj = (kind: string, name: string, spec: object, extra: object = {}) => ({
  apiVersion: kind === 'BGPPeer' ? 'metallb.io/v1beta2' : 'metallb.io/v1beta1',
  kind,
  metadata: { name, namespace: ns, ...extra },
  spec,
});

const base = [
  obj('IPAddressPool', 'bgp', { addresses: ['198.51.100.0/24', '2001:db8:100::/64'] }),
  obj('IPAddressPool', 'agg', { addresses: ['203.0.113.0/24'] }),
  obj('IPAddressPool', 'lan', { addresses: ['192.0.2.200-192.0.2.250'] }),
  obj('BFDProfile', 'fast', { receiveInterval: 100, transmitInterval: 100 }),
  obj('Community', 'names', { communities: [{ name: 'no-export', value: '65535:65281' }] }),
  obj('BGPPeer', 'router', { myASN: 64513, peerASN: 64512, peerAddress: '192.0.2.1', bfdProfile: 'fast' }),
  obj('BGPPeer', 'router-v6', { myASN: 64513, peerASN: 64512, peerAddress: '2001:db8:0:1::1' }),
  obj('BGPPeer', 'rr', {
    myASN: 64513,
    peerASN: 64513,
    peerAddress: '192.0.2.5',
    nodeSelectors: [{ matchLabels: { rack: 'a' } }],
    password: 's3cret',
    holdTime: '9s',
  }),
  obj('BGPAdvertisement', 'bgp', {
    ipAddressPools: ['bgp'],
    communities: ['64512:100', 'large:64512:1:2', 'no-export'],
    localPref: 150,
  }),
  obj('BGPAdvertisement', 'agg', {
    ipAddressPools: ['agg'],
    aggregationLength: 24,
    peers: ['router'],
    nodeSelectors: [{ matchLabels: { rack: 'a' } }],
  }),
];

const nodes: AnnounceNode[] = [
  { name: 'n1', labels: { rack: 'a' }, networkUnavailable: false },
  { name: 'n2', labels: {}, networkUnavailable: false },
  {
    name: 'n3',
    labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' },
    networkUnavailable: false,
  },
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

function plan(self: string, services: AnnounceService[], extra: Partial<BgpPlanInput> = {}, objects = base) {
  const parsed = parseConfig(objects, { namespace: ns });
  expect(parsed.problems).toEqual([]);
  return planBgp({
    self,
    services,
    nodes,
    alive: new Set(['n1', 'n2', 'n3']),
    config: parsed.config,
    routerId: `192.0.2.1${self.slice(1)}`,
    ...extra,
  });
}

const decisions = (p: BgpPlan) => Object.fromEntries(p.services.map((s) => [s.key, s.decision]));
const keys = (p: BgpPlan) => p.paths.map((x) => `${pathKey(x.spec)} -> ${x.peers.join(',')}`);

describe('planBgp: sessions', () => {
  it('opens the BGPPeers whose nodeSelectors match this node, with their settings', () => {
    const p1 = plan('n1', []);
    expect(p1.global).toEqual({ asn: 64513, routerId: '192.0.2.11' });
    expect(p1.peers.map((p) => [p.name, p.spec.address, p.ibgp, p.family, p.bfdProfile?.name])).toEqual([
      ['router', '192.0.2.1', false, 'ipv4', 'fast'],
      ['rr', '192.0.2.5', true, 'ipv4', undefined],
      ['router-v6', '2001:db8:0:1::1', false, 'ipv6', undefined],
    ]);
    const rr = p1.peers.find((p) => p.name === 'rr')?.spec;
    expect(rr).toMatchObject({ password: 's3cret', holdTime: 9, keepaliveTime: 3, peerASN: 64513 });
    expect(rr?.families).toEqual({ ipv4: true, ipv6: false });
    expect(plan('n2', []).peers.map((p) => p.name)).toEqual(['router', 'router-v6']);
  });

  it('turns enableGracefulRestart into a graceful-restart session, and only for that BGPPeer', () => {
    const objects = base.map((o) =>
      o.metadata.name === 'router-v6' ? { ...o, spec: { ...o.spec, enableGracefulRestart: true } } : o,
    );
    const p = plan('n2', [], {}, objects);
    expect(p.peers.map((x) => [x.name, x.spec.gracefulRestart])).toEqual([
      ['router', undefined],
      ['router-v6', true],
    ]);
  });

  it('has no global settings (gobgpd need not run) when no BGPPeer selects the node', () => {
    const only = base.filter((o) => o.kind !== 'BGPPeer');
    const p = plan('n1', [svc('a/web', ['198.51.100.10'])], {}, only);
    expect(p.global).toBeUndefined();
    expect(p.peers).toEqual([]);
    expect(decisions(p)['a/web']).toEqual({ announce: false, reason: 'noPeers' });
  });

  it('skips what gobgpd cannot do, naming the BGPPeer, and keeps the rest', () => {
    const objects = [
      ...base,
      obj('BGPPeer', 'vrf', { myASN: 64513, peerASN: 64512, peerAddress: '192.0.2.6', vrf: 'red' }),
      obj('BGPPeer', 'zero', { myASN: 64513, peerASN: 64512, peerAddress: '192.0.2.7', holdTime: '0s' }),
      obj('BGPPeer', 'router-twin', { myASN: 64513, peerASN: 64512, peerAddress: '192.0.2.1' }),
      obj('BGPPeer', 'dyn', { myASN: 64513, dynamicASN: 'external', peerAddress: '192.0.2.8' }),
    ];
    const p = plan('n2', [], {}, objects);
    expect(p.skippedPeers.map((s) => [s.name, s.reason])).toEqual([
      ['router-twin', 'duplicateAddress'],
      ['vrf', 'vrfUnsupported'],
      ['zero', 'holdTimeZeroUnsupported'],
    ]);
    expect(p.skippedPeers[0]?.message).toBe(
      'BGPPeer "router-twin": peer address "192.0.2.1" is already used by BGPPeer "router" on this node',
    );
    expect(p.peers.map((x) => [x.name, x.spec.peerASN])).toEqual([
      ['router', 64512],
      ['dyn', 0],
      ['router-v6', 64512],
    ]);
  });

  it('takes the router ID from a BGPPeer when one sets it, and reports a node without one', () => {
    const objects = base.map((o) =>
      o.metadata.name === 'router' ? { ...o, spec: { ...o.spec, routerID: '10.0.0.1' } } : o,
    );
    expect(plan('n2', [], {}, objects).global?.routerId).toBe('10.0.0.1');
    const none = planBgp({ ...inputOf('n2'), routerId: undefined });
    expect(none.global).toBeUndefined();
    expect(none.problems).toEqual([
      'node "n2" has no IPv4 InternalIP and no BGPPeer sets routerID: no BGP router ID',
    ]);
  });
});

function inputOf(self: string): BgpPlanInput {
  return {
    self,
    services: [],
    nodes,
    alive: new Set(['n1', 'n2', 'n3']),
    config: parseConfig(base, { namespace: ns }).config,
  };
}

describe('planBgp: a story of Services', () => {
  it('advertises an ETP Cluster Service from every eligible node, with its attributes', () => {
    const services = [svc('a/web', ['198.51.100.10', '2001:db8:100::10'])];
    const p1 = plan('n1', services);
    expect(decisions(p1)['a/web']).toEqual({ announce: true, peers: ['router', 'router-v6', 'rr'] });
    // LOCAL_PREF stays because the iBGP peer rr receives the IPv4 path; the IPv6 one goes to eBGP only
    expect(keys(p1)).toEqual([
      '198.51.100.10/32 nh=0.0.0.0 c=64512:100,65535:65281 lc=64512:1:2 lp=150 -> router,rr',
      '2001:db8:100::10/128 nh=:: c=64512:100,65535:65281 lc=64512:1:2 lp= -> router-v6',
    ]);
    const p2 = plan('n2', services);
    expect(keys(p2)).toEqual([
      '198.51.100.10/32 nh=0.0.0.0 c=64512:100,65535:65281 lc=64512:1:2 lp= -> router',
      '2001:db8:100::10/128 nh=:: c=64512:100,65535:65281 lc=64512:1:2 lp= -> router-v6',
    ]);
    expect(decisions(plan('n3', services))['a/web']).toEqual({ announce: false, reason: 'excludedByLabel' });
    expect(decisions(plan('n3', services, { ignoreExcludeLabel: true }))['a/web']).toEqual({
      announce: true,
      peers: ['router', 'router-v6'],
    });
  });

  it('with ETP Local advertises only from nodes hosting a ready endpoint', () => {
    const local = (nodesWithEndpoints: string[]) => [
      svc('b/api', ['198.51.100.20'], {
        externalTrafficPolicy: 'Local',
        hasReadyEndpoints: nodesWithEndpoints.length > 0,
        localEndpointNodes: new Set(nodesWithEndpoints),
      }),
    ];
    // the pod runs on n2
    expect(decisions(plan('n1', local(['n2'])))['b/api']).toEqual({
      announce: false,
      reason: 'noLocalEndpoints',
    });
    expect(plan('n1', local(['n2'])).paths).toEqual([]);
    expect(decisions(plan('n2', local(['n2'])))['b/api']).toEqual({ announce: true, peers: ['router'] });
    // it moves to n1: n2 withdraws, n1 advertises
    expect(plan('n2', local(['n1'])).paths).toEqual([]);
    expect(keys(plan('n1', local(['n1'])))).toHaveLength(1);
    // it is gone everywhere
    expect(decisions(plan('n1', local([])))['b/api']).toEqual({
      announce: false,
      reason: 'noLocalEndpoints',
    });
  });

  it('with ETP Cluster advertises nothing while the Service has no ready endpoint anywhere', () => {
    const p = plan('n1', [svc('c/empty', ['198.51.100.30'], { hasReadyEndpoints: false })]);
    expect(decisions(p)['c/empty']).toEqual({ announce: false, reason: 'noReadyEndpoints' });
    expect(p.paths).toEqual([]);
  });

  it('aggregates to the advertisement length, once for all Services under the aggregate', () => {
    const services = [svc('d/one', ['203.0.113.7']), svc('d/two', ['203.0.113.9'])];
    const p1 = plan('n1', services);
    expect(keys(p1)).toEqual(['203.0.113.0/24 nh=0.0.0.0 c= lc= lp= -> router']);
    expect(p1.paths[0]?.services).toEqual(['d/one', 'd/two']);
    // the "agg" advertisement names peer "router" only and selects rack=a nodes only
    expect(decisions(p1)['d/one']).toEqual({ announce: true, peers: ['router'] });
    expect(decisions(plan('n2', services))['d/one']).toEqual({ announce: false, reason: 'nodeNotSelected' });
  });

  it('names the reason for Services BGP does not cover', () => {
    const p = plan('n1', [
      svc('e/l2', ['192.0.2.201']),
      svc('e/outside', ['100.64.0.1']),
      svc('e/pending', []),
    ]);
    expect(decisions(p)).toEqual({
      'e/l2': { announce: false, reason: 'noBGPAdvertisement' },
      'e/outside': { announce: false, reason: 'noPool' },
    });
  });

  it('honours serviceSelectors and the node conditions', () => {
    const objects = [
      ...base.filter((o) => o.metadata.name !== 'bgp' || o.kind !== 'BGPAdvertisement'),
      obj('BGPAdvertisement', 'bgp', {
        ipAddressPools: ['bgp'],
        serviceSelectors: [{ matchLabels: { expose: 'bgp' } }],
      }),
    ];
    const labelled = svc('f/labelled', ['198.51.100.40'], { labels: { expose: 'bgp' } });
    const plain = svc('f/plain', ['198.51.100.41']);
    expect(decisions(plan('n2', [labelled, plain], {}, objects))).toEqual({
      'f/labelled': { announce: true, peers: ['router'] },
      'f/plain': { announce: false, reason: 'noBGPAdvertisement' },
    });
    const down: AnnounceNode[] = nodes.map((n) => (n.name === 'n2' ? { ...n, networkUnavailable: true } : n));
    expect(decisions(plan('n2', [labelled], { nodes: down }, objects))['f/labelled']).toEqual({
      announce: false,
      reason: 'networkUnavailable',
    });
    expect(decisions(plan('n2', [labelled], { alive: new Set(['n1']) }, objects))['f/labelled']).toEqual({
      announce: false,
      reason: 'speakerDown',
    });
    expect(decisions(plan('n9', [labelled], {}, objects))['f/labelled']).toEqual({
      announce: false,
      reason: 'nodeUnknown',
    });
  });

  it('unites peers and communities when two advertisements cover the same prefix', () => {
    const objects = [
      ...base,
      obj('BGPAdvertisement', 'bgp-rr', {
        ipAddressPools: ['bgp'],
        communities: ['64513:7'],
        peers: ['rr'],
        localPref: 200,
      }),
    ];
    const p = plan('n1', [svc('g/web', ['198.51.100.50'])], {}, objects);
    expect(keys(p)).toEqual([
      '198.51.100.50/32 nh=0.0.0.0 c=64512:100,64513:7,65535:65281 lc=64512:1:2 lp=200 -> router,rr',
    ]);
  });

  it('gives the same plan whatever the order of its inputs', () => {
    const services = [
      svc('a/web', ['198.51.100.10']),
      svc('d/one', ['203.0.113.7']),
      svc('b/x', ['198.51.100.2']),
    ];
    expect(plan('n1', [...services].reverse())).toEqual(plan('n1', services));
  });
});
