import { describe, expect, it } from 'vitest';
import {
  addressesKey,
  planIngressStatus,
  statusAddresses,
  type IngressStatusView,
  type StatusAddress,
} from './status.ts';

const ing = (name: string, ips: string[] = []): IngressStatusView => ({
  metadata: { namespace: 'app', name },
  status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
});

describe('statusAddresses', () => {
  it('keeps IPs and hostnames, sorted, without duplicates or empty entries', () => {
    const svc = {
      status: {
        loadBalancer: {
          ingress: [
            { ip: '192.0.2.201' },
            { hostname: 'lb.example' },
            { ip: '192.0.2.200' },
            {},
            { ip: '192.0.2.201' },
          ],
        },
      },
    };
    expect(statusAddresses(svc)).toEqual([
      { ip: '192.0.2.200' },
      { ip: '192.0.2.201' },
      { hostname: 'lb.example' },
    ]);
    expect(statusAddresses(undefined)).toEqual([]);
    expect(statusAddresses({ status: { loadBalancer: { ingress: null } } })).toEqual([]);
  });

  it('gives equal keys to equal lists in any order', () => {
    expect(addressesKey([{ ip: 'b' }, { ip: 'a' }])).toBe(addressesKey([{ ip: 'a' }, { ip: 'b' }]));
    expect(addressesKey([])).toBe('');
  });
});

describe('planIngressStatus, a story in order', () => {
  const ours: StatusAddress[] = [{ ip: '192.0.2.200' }];
  const keyOf = (list: StatusAddress[]) => addressesKey(list);

  it('writes the address into served Ingresses that lack it, and nothing else', () => {
    const writes = planIngressStatus({
      ingresses: [ing('web'), ing('other-class', ['198.51.100.7']), ing('unrelated')],
      served: new Set(['app/web']),
      addresses: ours,
      written: new Map(),
    });
    expect(writes).toEqual([
      { key: 'app/web', namespace: 'app', name: 'web', addresses: ours, why: 'served' },
    ]);
  });

  it('does not write again once the status holds the address', () => {
    expect(
      planIngressStatus({
        ingresses: [ing('web', ['192.0.2.200'])],
        served: new Set(['app/web']),
        addresses: ours,
        written: new Map([['app/web', keyOf(ours)]]),
      }),
    ).toEqual([]);
  });

  it('follows the Service when its address changes', () => {
    const moved = [{ ip: '192.0.2.201' }];
    expect(
      planIngressStatus({
        ingresses: [ing('web', ['192.0.2.200'])],
        served: new Set(['app/web']),
        addresses: moved,
        written: new Map([['app/web', keyOf(ours)]]),
      }).map((w) => [w.key, w.addresses]),
    ).toEqual([['app/web', moved]]);
  });

  it('clears a served Ingress when the Service loses its address', () => {
    expect(
      planIngressStatus({
        ingresses: [ing('web', ['192.0.2.200'])],
        served: new Set(['app/web']),
        addresses: [],
        written: new Map(),
      }).map((w) => [w.key, w.addresses, w.why]),
    ).toEqual([['app/web', [], 'served']]);
  });

  it('clears an Ingress no longer served when its status is what we wrote', () => {
    expect(
      planIngressStatus({
        ingresses: [ing('web', ['192.0.2.200'])],
        served: new Set(),
        addresses: [{ ip: '192.0.2.201' }],
        written: new Map([['app/web', keyOf(ours)]]),
      }).map((w) => [w.key, w.addresses, w.why]),
    ).toEqual([['app/web', [], 'notServed']]);
  });

  it('clears one holding our current address after a restart (nothing remembered)', () => {
    expect(
      planIngressStatus({
        ingresses: [ing('web', ['192.0.2.200'])],
        served: new Set(),
        addresses: ours,
        written: new Map(),
      }).map((w) => w.why),
    ).toEqual(['notServed']);
  });

  it('never touches the status another controller wrote, even for an Ingress we used to serve', () => {
    expect(
      planIngressStatus({
        ingresses: [ing('moved', ['198.51.100.7']), ing('theirs', ['198.51.100.8'])],
        served: new Set(),
        addresses: ours,
        written: new Map([['app/moved', keyOf(ours)]]),
      }),
    ).toEqual([]);
  });
});
