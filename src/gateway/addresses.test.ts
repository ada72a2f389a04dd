import { describe, expect, it } from 'vitest';
import { snapshotResolver } from '../ingress/resolve.ts';
import { addressesInNoPool } from './addresses.ts';
import { buildGateways, type GatewayInput } from './build.ts';
import type { GatewayObject } from './types.ts';

const POOLS = [
  { metadata: { name: 'l2' }, spec: { addresses: ['192.0.2.200-192.0.2.250', '2001:db8::/120'] } },
  { metadata: { name: 'bgp' }, spec: { addresses: ['198.51.100.0/24', 'not an address'] } },
];

describe('addressesInNoPool', () => {
  it('names the requested addresses no pool range or CIDR holds, in request order', () => {
    expect(
      addressesInNoPool(
        ['203.0.113.10', '192.0.2.210', '198.51.100.77', '2001:db8::5', 'x', '2001:db8::1:0'],
        POOLS,
      ),
    ).toEqual(['203.0.113.10', 'x', '2001:db8::1:0']);
    expect(addressesInNoPool(['192.0.2.210'], [])).toEqual(['192.0.2.210']);
  });
});

describe('Gateway static addresses', () => {
  const gateway = (addresses: { type?: string; value: string }[]): GatewayObject => ({
    metadata: { name: 'g', namespace: 'infra', generation: 4 },
    spec: {
      gatewayClassName: 'ironlb',
      addresses,
      listeners: [{ name: 'http', port: 8080, protocol: 'HTTP' }],
    },
  });
  const build = (g: GatewayObject, assigned: string[] = []) => {
    const input: GatewayInput = {
      gatewayClasses: [
        { metadata: { name: 'ironlb' }, spec: { controllerName: 'ironlb.io/gateway-controller' } },
      ],
      gateways: [g],
      httpRoutes: [],
      referenceGrants: [],
      namespaces: [],
      services: [],
      resolver: snapshotResolver({ services: [], endpointSlices: [], secrets: [] }),
      assignedPorts: new Map(),
      addresses: new Map([['infra/g', assigned.map((ip) => ({ ip }))]]),
      addressPools: POOLS,
    };
    const b = buildGateways(input, {
      httpPorts: { first: 10000, last: 10003 },
      httpsPorts: { first: 10100, last: 10103 },
    });
    const status = b.gatewayStatus.get('infra/g');
    return {
      conds: Object.fromEntries((status?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`])),
      message: status?.conditions.find((c) => c.type === 'Programmed')?.message,
      status,
      service: b.services[0],
    };
  };

  it('goes from UnsupportedAddress to AddressNotUsable to Programmed as the conformance test removes addresses', () => {
    const usable = { type: 'IPAddress', value: '198.51.100.77' };
    const unusable = { type: 'IPAddress', value: '203.0.113.10' };
    expect(
      build(gateway([{ type: 'test/fake-invalid-type', value: 'fake' }, unusable, usable])).conds,
    ).toEqual({
      Accepted: 'False/UnsupportedAddress',
      Programmed: 'False/Invalid',
    });
    const notUsable = build(gateway([unusable, usable]));
    expect(notUsable.conds).toEqual({ Accepted: 'True/Accepted', Programmed: 'False/AddressNotUsable' });
    expect(notUsable.message).toContain('203.0.113.10');
    const pending = build(gateway([usable]));
    expect(pending.conds.Programmed).toBe('False/AddressNotAssigned');
    expect(pending.service?.requestedIPs).toEqual(['198.51.100.77']);
    const done = build(gateway([usable]), ['198.51.100.77']);
    expect(done.conds.Programmed).toBe('True/Programmed');
    expect(done.status?.addresses).toEqual([{ type: 'IPAddress', value: '198.51.100.77' }]);
  });
});
