import { describe, expect, it } from 'vitest';
import type { GatewayServiceSpec } from './build.ts';
import { assignedPortsFrom, gatewayServiceObject, gatewaySlices, serviceDiffers } from './service.ts';

const spec: GatewayServiceSpec = {
  gateway: 'web/gw',
  namespace: 'web',
  gatewayName: 'gw',
  name: 'ironlb-gw',
  ports: [
    { name: 'http-80', port: 80, targetPort: 10000 },
    { name: 'https-443', port: 443, targetPort: 10064 },
  ],
  requestedIPs: ['192.0.2.210', '2001:db8::210'],
};

describe("a Gateway's Service", () => {
  it('is a LoadBalancer owned by the Gateway, ETP Local, asking for the requested addresses', () => {
    const svc = gatewayServiceObject(spec, 'uid-1');
    expect(svc.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Gateway', name: 'gw', uid: 'uid-1', controller: true }),
    ]);
    expect(svc.metadata.annotations).toEqual({ 'metallb.io/loadBalancerIPs': '192.0.2.210,2001:db8::210' });
    expect(svc.spec).toMatchObject({
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      ipFamilyPolicy: 'RequireDualStack',
    });
    expect(svc.spec.ports.map((p) => [p.port, p.targetPort])).toEqual([
      [80, 10000],
      [443, 10064],
    ]);
  });

  it('is the record of the proxy ports: read back, and rewritten only when it differs', () => {
    const svc = gatewayServiceObject(spec, 'uid-1');
    expect([...assignedPortsFrom([svc])]).toEqual([
      ['web/gw/80', 10000],
      ['web/gw/443', 10064],
    ]);
    expect(
      assignedPortsFrom([
        { metadata: { name: 'other', namespace: 'web' }, spec: { ports: [{ port: 80, targetPort: 1 }] } },
      ]).size,
    ).toBe(0);
    const live = { ...svc, spec: { ...svc.spec, clusterIP: '10.96.0.10' } };
    expect(serviceDiffers(live, svc)).toBe(false);
    expect(serviceDiffers({ ...live, spec: { ...live.spec, ports: [live.spec.ports[0]!] } }, svc)).toBe(true);
    expect(serviceDiffers({ ...live, metadata: { ...live.metadata, annotations: {} } }, svc)).toBe(true);
  });

  it('gets one EndpointSlice per family of the proxy endpoints, with the proxy ports', () => {
    const slices = gatewaySlices(spec, 'uid-1', [
      {
        metadata: { name: 'proxy-a', namespace: 'ironlb-system' },
        addressType: 'IPv4',
        endpoints: [
          { addresses: ['10.244.2.5'], conditions: { ready: true }, nodeName: 'node-2' },
          { addresses: ['10.244.1.5'], conditions: { ready: false }, nodeName: 'node-1' },
        ],
      },
      {
        metadata: { name: 'proxy-b', namespace: 'ironlb-system' },
        addressType: 'IPv6',
        endpoints: [{ addresses: ['fd00::5'] }],
      },
    ]);
    expect(
      slices.map((s) => [s.metadata.name, s.addressType, s.endpoints.map((e) => e.addresses[0])]),
    ).toEqual([
      ['ironlb-gw-ipv4', 'IPv4', ['10.244.1.5', '10.244.2.5']],
      ['ironlb-gw-ipv6', 'IPv6', ['fd00::5']],
    ]);
    expect(slices[0]?.metadata.labels['kubernetes.io/service-name']).toBe('ironlb-gw');
    expect(slices[0]?.endpoints[1]).toEqual({
      addresses: ['10.244.2.5'],
      conditions: { ready: true },
      nodeName: 'node-2',
    });
    expect(slices[0]?.ports).toEqual([
      { name: 'http-80', port: 10000, protocol: 'TCP' },
      { name: 'https-443', port: 10064, protocol: 'TCP' },
    ]);
  });
});
