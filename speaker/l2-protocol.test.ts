// The L2 announcer with recording fakes for its edges (wire, status objects, Events, the conflict report)
// and a manual clock: the story of one node announcing, finding a squatter, and handing over on stop.
import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../edge/clock.ts';
import type { EventTarget, Recorder } from '../edge/events.ts';
import { createLogger } from '../edge/log.ts';
import type { SpeakerSnapshot } from '../src/announce/snapshot.ts';
import type { AnnounceService } from '../src/announce/l2plan.ts';
import { parseConfig } from '../src/config/parse.ts';
import { recordingWire } from '../test/support/l2-wire.ts';
import { CONFLICT_METRIC_HOLD_MS, L2Protocol, type L2WireHooks, type StatusSink } from './l2-protocol.ts';
import { SpeakerMetrics } from './metrics.ts';
import type { ConflictReport, StatusEntry } from './status-objects.ts';

const ns = 'ironlb-system';
const config = parseConfig([
  {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: 'lan', namespace: ns },
    spec: { addresses: ['192.0.2.200-192.0.2.250'] },
  },
  {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'L2Advertisement',
    metadata: { name: 'lan', namespace: ns },
    spec: { ipAddressPools: ['lan'] },
  },
]).config;

const svc = (name: string, ip: string): AnnounceService => ({
  key: `app/${name}`,
  labels: {},
  ips: [ip],
  externalTrafficPolicy: 'Cluster',
  hasReadyEndpoints: true,
  localEndpointNodes: new Set(),
});
const snapshot = (services: AnnounceService[]): SpeakerSnapshot => ({
  services,
  nodes: [{ name: 'n1', labels: {}, networkUnavailable: false }],
  alive: new Set(['n1']),
  config,
});

function setup() {
  const clock = new ManualClock(1_000_000);
  const wire = recordingWire();
  const calls = wire.calls;
  const synced: (readonly StatusEntry[])[] = [];
  const status: StatusSink = {
    sync: (e) => void synced.push(e),
    reverify: () => undefined,
    removeAll: async () => void calls.push('removeAll'),
  };
  const events: { target: EventTarget; type: string; reason: string; message: string }[] = [];
  const recorder: Recorder = {
    event: (target, type, reason, message) => void events.push({ target, type, reason, message }),
  };
  const reports: ConflictReport[] = [];
  const metrics = new SpeakerMetrics();
  const l2 = new L2Protocol({
    self: 'n1',
    mode: 'evenSpread',
    ignoreExcludeLabel: false,
    handoffMs: 1500,
    wire: wire.make,
    status,
    recorder,
    getService: (key) =>
      ({ metadata: { namespace: 'app', name: key.split('/')[1], uid: `uid-${key}` } }) as V1Service,
    reportConflict: (_svc, r) => void reports.push(r),
    metrics,
    log: createLogger('test', 'silent'),
    clock,
  });
  return {
    clock,
    applied: wire.applied,
    calls,
    synced,
    events,
    reports,
    metrics,
    l2,
    hooks: () => wire.hooks as L2WireHooks,
  };
}

const conflictSeries = async (m: SpeakerMetrics) =>
  (await m.conflicts.get()).values.filter((v) => v.value === 1).map((v) => v.labels.ip);

describe('L2Protocol', () => {
  it('announces, probes what is new, reports a squatter, forgets it after the hold, hands over on stop', async () => {
    const t = setup();
    const s1 = svc('s1', '192.0.2.200');
    const s2 = svc('s2', '192.0.2.201');

    // the first plan takes over what is there without probing (a restart must not drop addresses)
    t.l2.apply(t.l2.plan(snapshot([s1])), 'start');
    expect(t.applied.at(-1)?.fresh).toEqual(new Set());
    expect([...(t.applied.at(-1)?.addresses.keys() ?? [])]).toEqual(['192.0.2.200']);
    expect(t.events.map((e) => [e.reason, e.message])).toEqual([
      ['nodeAssigned', 'announcing from node "n1" with protocol "layer2"'],
    ]);
    expect(t.synced.at(-1)).toEqual([{ key: 'app/s1', detail: { interfaces: [{ name: 'eth0' }] } }]);

    // a new Service's address is probed before it is announced; s1 is announced already: no second Event
    t.l2.apply(t.l2.plan(snapshot([s1, s2])), 'services');
    expect(t.applied.at(-1)?.fresh).toEqual(new Set(['192.0.2.201']));
    expect(t.events.filter((e) => e.reason === 'nodeAssigned')).toHaveLength(2);

    // probing finds another host on s2's address: Warning Event, condition report, conflict series
    t.hooks().onConflict({
      ip: '192.0.2.201',
      interfaceName: 'eth0',
      mac: '02:00:00:00:00:99',
      evidence: 'arp-reply',
    } as never);
    expect(t.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'AddressConflict' });
    expect(t.events.at(-1)?.message).toContain('"192.0.2.201" is already in use');
    expect(t.reports).toEqual([
      { ip: '192.0.2.201', mac: '02:00:00:00:00:99', interfaceName: 'eth0', node: 'n1' },
    ]);
    expect(await conflictSeries(t.metrics)).toEqual(['192.0.2.201']);

    // within the hold the series stays; after it, the next plan drops it
    t.clock.advance(CONFLICT_METRIC_HOLD_MS);
    t.l2.apply(t.l2.plan(snapshot([s1, s2])), 'resync');
    expect(await conflictSeries(t.metrics)).toEqual(['192.0.2.201']);
    t.clock.advance(1);
    t.l2.apply(t.l2.plan(snapshot([s1, s2])), 'resync');
    expect(await conflictSeries(t.metrics)).toEqual([]);

    // stop: quiesce at once, keep answering for the handoff, then close and remove the status objects
    const stopped = t.l2.stop();
    expect(t.calls).toEqual(['quiesce']);
    t.clock.advance(1499);
    await Promise.resolve();
    expect(t.calls).toEqual(['quiesce']);
    t.clock.advance(1);
    await stopped;
    expect(t.calls).toEqual(['quiesce', 'close', 'removeAll']);
  });

  it('clears the conflict series as soon as the address is claimed after a probe', async () => {
    const t = setup();
    t.hooks().onConflict({
      ip: '192.0.2.210',
      interfaceName: 'eth0',
      mac: '02:00:00:00:00:98',
      evidence: 'arp-reply',
    } as never);
    expect(await conflictSeries(t.metrics)).toEqual(['192.0.2.210']);
    t.hooks().onClaimed('192.0.2.210');
    expect(await conflictSeries(t.metrics)).toEqual([]);
  });
});
