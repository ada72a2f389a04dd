import { describe, expect, it } from 'vitest';
import type { Condition, HTTPRouteObject } from './types.ts';
import { GATEWAY_CONTROLLER } from './types.ts';
import { describeConditions, explainGateway, type GatewayWhyInput } from './why.ts';

const ok = (type: string): Condition => ({ type, status: 'True', reason: type, message: '' });

const gateway: GatewayWhyInput['gateway'] = {
  metadata: { name: 'web', namespace: 'demo' },
  spec: {
    gatewayClassName: 'ironlb',
    listeners: [
      { name: 'http', port: 80, protocol: 'HTTP' },
      { name: 'https', port: 443, protocol: 'HTTPS', hostname: '*.example.com' },
    ],
  },
  status: {
    addresses: [{ type: 'IPAddress', value: '192.0.2.210' }],
    conditions: [ok('Accepted'), ok('Programmed')],
    listeners: [
      { name: 'http', attachedRoutes: 1, conditions: [ok('Accepted'), ok('Programmed'), ok('ResolvedRefs')] },
      {
        name: 'https',
        attachedRoutes: 0,
        conditions: [
          {
            type: 'ResolvedRefs',
            status: 'False',
            reason: 'InvalidCertificateRef',
            message: 'certificateRef 0: Secret is not a certificate',
          },
        ],
      },
    ],
  },
};

function route(name: string, namespace: string, parent: string, status?: Condition[]): HTTPRouteObject {
  return {
    metadata: { name, namespace },
    spec: { parentRefs: [{ name: parent, namespace: 'demo' }] },
    ...(status
      ? {
          status: {
            parents: [
              {
                parentRef: { name: parent, namespace: 'demo' },
                controllerName: GATEWAY_CONTROLLER,
                conditions: status,
              },
            ],
          },
        }
      : {}),
  };
}

describe('describeConditions', () => {
  it('words True conditions by reason and others with their message', () => {
    expect(
      describeConditions([
        ok('Accepted'),
        {
          type: 'ResolvedRefs',
          status: 'False',
          reason: 'BackendNotFound',
          message: 'Service "demo/x" not found',
        },
      ]),
    ).toBe('Accepted=True (Accepted), ResolvedRefs=False (BackendNotFound): Service "demo/x" not found');
    expect(
      describeConditions([
        { type: 'Conflicted', status: 'False', reason: 'NoConflicts', message: 'No conflicts' },
      ]),
    ).toBe('Conflicted=False (NoConflicts)');
    expect(describeConditions(undefined)).toBe('no conditions yet');
  });
});

describe('explainGateway', () => {
  it('shows the address, its Service and announcers, each listener and the routes naming the Gateway', () => {
    const lines = explainGateway({
      gateway,
      service: { name: 'ironlb-web', ips: ['192.0.2.210'], pool: 'lab-l2' },
      announcers: ['node-1 (layer2 on eth0)'],
      routes: [
        route('echo', 'demo', 'web', [ok('Accepted'), ok('ResolvedRefs')]),
        route('new', 'demo', 'web'),
        { ...route('grpc', 'demo', 'web', [ok('Accepted')]), kind: 'GRPCRoute' },
        { ...route('passthrough', 'demo', 'web', [ok('Accepted')]), kind: 'TLSRoute' },
        route('elsewhere', 'demo', 'other', [ok('Accepted')]),
      ],
    });
    expect(lines).toEqual([
      'Gateway "demo/web" (class "ironlb") has 192.0.2.210',
      '  conditions: Accepted=True (Accepted), Programmed=True (Programmed)',
      '  Service "demo/ironlb-web" holds 192.0.2.210 from pool "lab-l2"',
      '  announced by: node-1 (layer2 on eth0)',
      'listeners:',
      '  http HTTP :80, 1 route(s): Accepted=True (Accepted), Programmed=True (Programmed), ResolvedRefs=True (ResolvedRefs)',
      '  https HTTPS :443 *.example.com, 0 route(s): ResolvedRefs=False (InvalidCertificateRef): certificateRef 0: Secret is not a certificate',
      'routes:',
      '  HTTPRoute "demo/echo": Accepted=True (Accepted), ResolvedRefs=True (ResolvedRefs)',
      '  GRPCRoute "demo/grpc": Accepted=True (Accepted)',
      `  HTTPRoute "demo/new": no status from ${GATEWAY_CONTROLLER} yet`,
      '  TLSRoute "demo/passthrough": Accepted=True (Accepted)',
    ]);
  });

  it('points a Gateway without an address at its pending Service', () => {
    const lines = explainGateway({
      gateway: {
        ...gateway,
        spec: { ...gateway.spec, addresses: [{ type: 'IPAddress', value: '203.0.113.9' }] },
        status: {
          conditions: [
            ok('Accepted'),
            { type: 'Programmed', status: 'False', reason: 'AddressNotAssigned', message: 'no pool has it' },
          ],
        },
      },
      service: { name: 'ironlb-web', ips: [] },
      announcers: [],
      routes: [],
    });
    expect(lines.slice(0, 3)).toEqual([
      'Gateway "demo/web" (class "ironlb") has no address (requested 203.0.113.9)',
      '  conditions: Accepted=True (Accepted), Programmed=False (AddressNotAssigned): no pool has it',
      '  Service "demo/ironlb-web" is pending: ironlb why demo/ironlb-web says why',
    ]);
    expect(lines.at(-1)).toBe('routes: none name this Gateway');
  });

  it('says when the Service is missing or nobody announces it', () => {
    expect(explainGateway({ gateway, announcers: [], routes: [] })[2]).toMatch(/Service: none yet/);
    expect(
      explainGateway({
        gateway,
        service: { name: 'ironlb-web', ips: ['192.0.2.210'] },
        announcers: [],
        routes: [],
      })[3],
    ).toMatch(/^ {2}announced by: nobody .*ironlb why demo\/ironlb-web\)$/);
  });
});
