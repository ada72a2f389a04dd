import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ServiceController, type StatusWriter } from './service-controller.ts';
import { POOL_ANNOTATION } from '../src/contracts/annotations.ts';
import { CONFLICT_CONDITION, encodeInUse } from '../src/contracts/conflict.ts';
import type { EventTarget, Recorder } from '../edge/events.ts';

// Recording fakes for the narrow interfaces the reconciler writes through.
class FakeCluster implements StatusWriter, Recorder {
  services = new Map<string, V1Service>();
  writes: { key: string; ips: string[]; pool?: string }[] = [];
  conditions: { key: string; type: string; status: string; reason: string }[] = [];
  events: { name: string; type: string; reason: string; message: string }[] = [];

  rv = 1;
  async writeAssignment(svc: V1Service, ips: string[], pool: string | undefined): Promise<string[]> {
    const key = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
    this.writes.push({ key, ips, ...(pool ? { pool } : {}) });
    const cur = this.services.get(key);
    if (!cur) return [];
    cur.metadata = {
      ...cur.metadata,
      annotations: { ...cur.metadata?.annotations, ...(pool ? { [POOL_ANNOTATION]: pool } : {}) },
    };
    if (!pool) delete cur.metadata.annotations?.[POOL_ANNOTATION];
    cur.status = { ...cur.status, loadBalancer: { ingress: ips.map((ip) => ({ ip })) } };
    cur.metadata.resourceVersion = String(++this.rv);
    return [cur.metadata.resourceVersion];
  }
  async writeCondition(
    svc: V1Service,
    c: { type: string; status: 'True' | 'False'; reason: string; message: string },
  ): Promise<void> {
    this.conditions.push({
      key: `${svc.metadata?.namespace}/${svc.metadata?.name}`,
      type: c.type,
      status: c.status,
      reason: c.reason,
    });
  }
  event(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.events.push({ name: target.name, type, reason, message });
  }
}

const pool = (name: string, addresses: string[], extra: object = {}) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name, namespace: 'ironlb-system', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { addresses, ...extra },
});
const lbService = (
  name: string,
  extra: Partial<V1Service> = {},
  created = '2026-01-02T00:00:00Z',
): V1Service => ({
  metadata: {
    name,
    namespace: 'app',
    uid: `uid-${name}`,
    creationTimestamp: new Date(created),
    ...extra.metadata,
  },
  spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], ipFamilies: ['IPv4'], ...extra.spec },
  status: extra.status ?? {},
});

function setup(pools: object[]) {
  const cluster = new FakeCluster();
  const queued: string[] = [];
  const c = new ServiceController({
    store: {
      getService: (k) => cluster.services.get(k),
      listServices: () => [...cluster.services.values()],
      namespaceLabels: () => ({}),
    },
    writer: cluster,
    recorder: cluster,
    enqueue: (k) => queued.push(k),
    canWrite: () => true,
    namespace: 'ironlb-system',
  });
  c.setPools(pools);
  const add = (svc: V1Service) => cluster.services.set(`app/${svc.metadata?.name}`, svc);
  return { cluster, c, queued, add };
}

describe('ServiceController', () => {
  it('assigns, writes only when something changed, and releases on delete', async () => {
    const { cluster, c, add } = setup([pool('lab', ['192.0.2.10-192.0.2.11'])]);
    add(lbService('a'));
    await c.reconcile('app/a');
    expect(cluster.writes).toEqual([{ key: 'app/a', ips: ['192.0.2.10'], pool: 'lab' }]);
    expect(cluster.events.map((e) => e.reason)).toEqual(['IPAllocated']);
    await c.reconcile('app/a'); // converged: no second write
    expect(cluster.writes).toHaveLength(1);
    cluster.services.delete('app/a');
    await c.reconcile('app/a');
    add(lbService('b'));
    await c.reconcile('app/b');
    expect(cluster.writes.at(-1)).toEqual({ key: 'app/b', ips: ['192.0.2.10'], pool: 'lab' });
  });

  it('keeps a pending Service and requeues it as soon as an address frees up', async () => {
    const { cluster, c, queued, add } = setup([pool('tiny', ['192.0.2.20/32'])]);
    add(lbService('a'));
    add(lbService('b'));
    await c.reconcile('app/a');
    await c.reconcile('app/b');
    expect(cluster.events.at(-1)).toMatchObject({ name: 'b', type: 'Warning', reason: 'AllocationFailed' });
    expect(cluster.events.at(-1)?.message).toMatch(/Failed to allocate IP for "app\/b": no available IPs/);
    expect(c.pending.has('app/b')).toBe(true);
    queued.length = 0;
    cluster.services.delete('app/a');
    await c.reconcile('app/a');
    expect(queued).toContain('app/b');
    await c.reconcile('app/b');
    expect(cluster.writes.at(-1)).toEqual({ key: 'app/b', ips: ['192.0.2.20'], pool: 'tiny' });
  });

  it('a freed address goes first to the Service that has waited longest, then completes a PreferDualStack one', async () => {
    // one IPv4 address, one IPv6 address
    const { cluster, c, queued, add } = setup([pool('duo', ['192.0.2.40/32', '2001:db8::40/128'])]);
    const dual = { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] };
    add(lbService('v6', { spec: { ipFamilies: ['IPv6'] } as V1Service['spec'] }));
    add(lbService('v4'));
    add(lbService('pds', { spec: dual as V1Service['spec'] }));
    add(lbService('late'));
    add(lbService('later'));
    await c.reconcile('app/v6');
    await c.reconcile('app/v4');
    await c.reconcile('app/pds'); // both addresses taken: pending
    expect(c.pending.has('app/pds')).toBe(true);
    cluster.services.delete('app/v6');
    await c.reconcile('app/v6'); // frees the IPv6 address: pds gets it, with one family of two
    await c.reconcile('app/pds');
    expect(cluster.writes.at(-1)).toEqual({ key: 'app/pds', ips: ['2001:db8::40'], pool: 'duo' });
    expect(c.incomplete.has('app/pds')).toBe(true);
    await c.reconcile('app/late'); // fails first
    await c.reconcile('app/later'); // fails second
    queued.length = 0;
    cluster.services.delete('app/v4');
    await c.reconcile('app/v4'); // frees the IPv4 address
    // waiting Services in the order they first failed, then the PreferDualStack Service missing a family
    expect(queued).toEqual(['app/late', 'app/later', 'app/pds']);
    for (const k of queued) await c.reconcile(k);
    expect(cluster.writes.at(-1)).toEqual({ key: 'app/late', ips: ['192.0.2.40'], pool: 'duo' });
    expect(c.pending.has('app/later')).toBe(true);
    expect(c.incomplete.has('app/pds')).toBe(true);
  });

  it('restores addresses from status first, so a newer pending Service cannot take them after a restart', async () => {
    const { cluster, c, add } = setup([pool('lab', ['192.0.2.30/32'])]);
    add(
      lbService(
        'old',
        {
          status: { loadBalancer: { ingress: [{ ip: '192.0.2.30' }] } },
          metadata: { name: 'old', annotations: { [POOL_ANNOTATION]: 'lab' } },
        },
        '2026-01-01T00:00:00Z',
      ),
    );
    add(lbService('new', {}, '2026-01-03T00:00:00Z'));
    expect(c.restoreAll()).toEqual(['app/old']);
    await c.reconcile('app/new'); // processed before "old" on purpose
    await c.reconcile('app/old');
    expect(cluster.writes).toEqual([]); // "old" keeps its address without a write; "new" got nothing
    expect(c.pending.has('app/new')).toBe(true);
  });

  it('clears the address of a Service that stops being a LoadBalancer', async () => {
    const { cluster, c, add } = setup([pool('lab', ['192.0.2.40/32'])]);
    add(lbService('a'));
    await c.reconcile('app/a');
    const svc = cluster.services.get('app/a') as V1Service;
    svc.spec = { ...svc.spec, type: 'ClusterIP' };
    await c.reconcile('app/a');
    expect(cluster.writes.at(-1)).toEqual({ key: 'app/a', ips: [] });
    expect(cluster.events.at(-1)?.reason).toBe('ClearAssignment');
  });

  it('moves a Service off an address another host uses and marks the condition Reassigned', async () => {
    const { cluster, c, add } = setup([pool('lab', ['192.0.2.50-192.0.2.51'])]);
    add(lbService('a'));
    await c.reconcile('app/a');
    const svc = cluster.services.get('app/a') as V1Service;
    svc.status = {
      ...svc.status,
      conditions: [
        {
          ...encodeInUse({ ip: '192.0.2.50', mac: '02:00:00:00:00:99', node: 'n1', interfaceName: 'eth0' }),
          lastTransitionTime: new Date(),
        },
      ],
    };
    await c.reconcile('app/a');
    expect(cluster.writes.at(-1)).toEqual({ key: 'app/a', ips: ['192.0.2.51'], pool: 'lab' });
    expect(cluster.conditions.at(-1)).toMatchObject({
      type: CONFLICT_CONDITION,
      status: 'False',
      reason: 'Reassigned',
    });
    expect(c.conflicts.get('192.0.2.50')?.detectedBy).toBe('n1');
    expect(c.allocator.avoidedAddresses().map((a) => a.ip)).toEqual(['192.0.2.50']);
  });

  it("does not write again while the cache lags behind its own write, but answers anyone else's change", async () => {
    const { cluster, c, add } = setup([pool('lab', ['192.0.2.70/32'])]);
    const before = lbService('a', { metadata: { name: 'a', resourceVersion: '100' } });
    add(structuredClone(before));
    await c.reconcile('app/a');
    expect(cluster.writes).toHaveLength(1);
    // the watch has not delivered our write yet: the cache still holds version 100
    cluster.services.set('app/a', structuredClone(before));
    await c.reconcile('app/a');
    expect(cluster.writes).toHaveLength(1);
    expect(cluster.events.filter((e) => e.reason === 'IPAllocated')).toHaveLength(1);
    // someone cleared the status by hand: a new version, so the controller writes it back
    cluster.services.set('app/a', {
      ...structuredClone(before),
      metadata: { ...before.metadata, resourceVersion: '205' },
    });
    await c.reconcile('app/a');
    expect(cluster.writes).toHaveLength(2);
  });

  it('does nothing while another replica holds the Lease', async () => {
    const cluster = new FakeCluster();
    const c = new ServiceController({
      store: {
        getService: (k) => cluster.services.get(k),
        listServices: () => [...cluster.services.values()],
        namespaceLabels: () => ({}),
      },
      writer: cluster,
      recorder: cluster,
      enqueue: () => {},
      canWrite: () => false,
    });
    c.setPools([pool('lab', ['192.0.2.60/32'])]);
    cluster.services.set('app/a', lbService('a'));
    expect(await c.reconcile('app/a')).toEqual({ requeueAfterMs: 1000 });
    expect(cluster.writes).toEqual([]);
  });
});
