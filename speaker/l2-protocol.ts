// The L2 announcer: plans from the speaker's snapshot with the pure election (src/announce/l2plan.ts), then
// drives the wire (ARP/NDP responders), the ServiceL2Status objects, the metallb_speaker_announced series,
// the nodeAssigned Events and the address-conflict reports (Event, Service condition, metric).
import type { V1Service } from '@kubernetes/client-node';
import { sleep, type Clock } from '../edge/clock.ts';
import { serviceTarget, type Recorder } from '../edge/events.ts';
import { errorMessage } from '../edge/informer.ts';
import type { Logger } from '../edge/log.ts';
import { planL2, type L2Plan } from '../src/announce/l2plan.ts';
import type { SpeakerSnapshot } from '../src/announce/snapshot.ts';
import type { ElectionMode } from '../src/election/election.ts';
import type { Announcer } from './announcer.ts';
import type { Conflict, Desired } from './l2-announcer.ts';
import { SeriesSet, type SpeakerMetrics } from './metrics.ts';
import type { ConflictReport, StatusEntry } from './status-objects.ts';

/** L2Wire is what the L2 announcer needs from the wire (L2Announcer; a recording fake in tests). */
export interface L2Wire {
  apply(desired: Desired): void;
  announcedOn(ip: string): string[];
  readonly conflicts: ReadonlyMap<string, string>;
  /** localMacs: the MACs this node answers with (sent in heartbeats). */
  localMacs(): string[];
  eligibleInterfaces(): string[];
  /** quiesce: stop announcing (gratuitous) but keep answering, for the handoff. */
  quiesce(): void;
  close(): void;
}

/** L2WireHooks are what the wire reports back: conflicts found by probing, addresses claimed, packets. */
export interface L2WireHooks {
  onConflict(c: Conflict): void;
  onClaimed(ip: string): void;
  counters: {
    requestReceived(ip: string): void;
    responseSent(ip: string): void;
    gratuitousSent(ip: string): void;
  };
}

/** StatusSink keeps this node's ServiceL2Status objects (NodeStatusObjects; a recording fake in tests). */
export interface StatusSink {
  sync(entries: readonly StatusEntry[]): void;
  reverify(): void;
  removeAll(): Promise<void>;
}

/** L2ProtocolOptions wires the L2 announcer to its edges. */
export interface L2ProtocolOptions {
  self: string;
  mode: ElectionMode;
  ignoreExcludeLabel: boolean;
  /** handoffMs: on stop, keep answering this long after the others were told (they take over meanwhile). */
  handoffMs: number;
  wire: (hooks: L2WireHooks) => L2Wire;
  status: StatusSink;
  recorder: Recorder;
  getService(key: string): V1Service | undefined;
  /** reportConflict sets the AddressConflict condition on the Service (through its own retries). */
  reportConflict(svc: V1Service, report: ConflictReport): void;
  metrics: SpeakerMetrics;
  log: Logger;
  clock: Clock;
}

/** L2Step is a plan and the addresses in it that no node was elected for before (they are probed first). */
export interface L2Step {
  plan: L2Plan;
  fresh: Set<string>;
  elected: Set<string>;
}

/**
 * CONFLICT_METRIC_HOLD_MS: an address found in use elsewhere keeps its conflict series until it is claimed
 * successfully again or this long passes (the controller's default hold before it reuses the address).
 */
export const CONFLICT_METRIC_HOLD_MS = 15 * 60_000;

/** L2Protocol is the L2 Announcer. */
export class L2Protocol implements Announcer<L2Step> {
  readonly protocol = 'layer2';
  readonly wire: L2Wire;
  private readonly o: L2ProtocolOptions;
  private readonly series: SeriesSet<'node' | 'protocol' | 'service' | 'ip'>;
  private readonly conflictLabels = new Map<
    string,
    { labels: { ip: string; interface: string; mac: string }; at: number }
  >();
  /** known: addresses some node was elected for in the previous plan (undefined before the first plan). */
  private known: Set<string> | undefined;
  /** last: the plan applied last (for /debug/plan, Events on changes and conflict reports). */
  last: L2Plan | undefined;

  constructor(o: L2ProtocolOptions) {
    this.o = o;
    this.series = new SeriesSet(o.metrics.announced);
    const m = o.metrics;
    this.wire = o.wire({
      counters: {
        requestReceived: (ip) => m.requestsReceived.inc({ ip }),
        responseSent: (ip) => m.responsesSent.inc({ ip }),
        gratuitousSent: (ip) => m.gratuitousSent.inc({ ip }),
      },
      // an address claimed after probing is free again: it leaves the conflict metric
      onClaimed: (ip) => this.clearConflictMetric(ip),
      onConflict: (c) => this.onConflict(c),
    });
  }

  plan(s: SpeakerSnapshot): L2Step {
    const plan = planL2({
      self: this.o.self,
      services: s.services,
      nodes: s.nodes,
      alive: s.alive,
      config: s.config,
      mode: this.o.mode,
      ignoreExcludeLabel: this.o.ignoreExcludeLabel,
    });
    // an address no node was elected for until now (new, or back after being gone) is probed before it is
    // announced; one another speaker announced until now is taken over at once
    const fresh = new Set<string>();
    const elected = new Set<string>();
    for (const svc of plan.services) {
      if (!svc.election?.ok) continue;
      for (const ip of svc.ips) {
        if (this.known && !this.known.has(ip)) fresh.add(ip);
        elected.add(ip);
      }
    }
    return { plan, fresh, elected };
  }

  apply({ plan, fresh, elected }: L2Step, trigger: string): void {
    const { self, log } = this.o;
    this.known = elected;
    this.wire.apply({ addresses: plan.announce, fresh });
    const now = this.o.clock.now();
    for (const [ip, c] of this.conflictLabels)
      if (now - c.at > CONFLICT_METRIC_HOLD_MS) this.clearConflictMetric(ip);
    const before = new Set((this.last?.services ?? []).filter((s) => s.decision.announce).map((s) => s.key));
    this.series.replace(
      plan.services
        .filter((s) => s.decision.announce)
        .flatMap((s) => s.ips.map((ip) => ({ node: self, protocol: 'layer2', service: s.key, ip }))),
    );
    for (const s of plan.services) {
      if (!s.decision.announce || before.has(s.key)) continue;
      const svc = this.o.getService(s.key);
      if (svc)
        this.o.recorder.event(
          serviceTarget(svc),
          'Normal',
          'nodeAssigned',
          `announcing from node "${self}" with protocol "layer2"`,
        );
      log.info({ service: s.key, ips: s.ips, trigger }, 'announcing');
    }
    // one pass over the plan, not one per Service announced before: O(services), not O(services²)
    const byKey = new Map(plan.services.map((s) => [s.key, s]));
    for (const key of before) {
      const why = byKey.get(key)?.decision;
      if (why?.announce) continue;
      log.info(
        { service: key, reason: why && !why.announce ? why.reason : 'serviceGone', trigger },
        'stopped announcing',
      );
    }
    this.last = plan;
    this.o.status.sync(
      plan.services
        .filter((s) => s.decision.announce && this.o.getService(s.key))
        .map((s) => {
          const on = [...new Set(s.ips.flatMap((ip) => this.wire.announcedOn(ip)))].sort();
          return {
            key: s.key,
            detail: { interfaces: (on.length ? on : s.interfaces).map((name) => ({ name })) },
          };
        }),
    );
  }

  async stop(): Promise<void> {
    // from now on only the new owners announce: this node answers the clients still sending to it, nothing more
    this.wire.quiesce();
    await sleep(this.o.clock, this.o.handoffMs);
    this.wire.close();
    await this.o.status
      .removeAll()
      .catch((e: unknown) => this.o.log.warn({ err: errorMessage(e) }, 'could not remove status objects'));
  }

  private clearConflictMetric(ip: string): void {
    const c = this.conflictLabels.get(ip);
    if (!c) return;
    this.o.metrics.conflicts.remove(c.labels);
    this.conflictLabels.delete(ip);
  }

  private onConflict(c: Conflict): void {
    const { self, metrics, log } = this.o;
    const labels = { ip: c.ip, interface: c.interfaceName, mac: c.mac };
    this.conflictLabels.set(c.ip, { labels, at: this.o.clock.now() });
    metrics.conflicts.set(labels, 1);
    log.warn(
      { ip: c.ip, interface: c.interfaceName, mac: c.mac, evidence: c.evidence },
      'address already in use by another host: not announcing it',
    );
    for (const s of this.last?.services ?? []) {
      if (!s.ips.includes(c.ip)) continue;
      const svc = this.o.getService(s.key);
      if (!svc) continue;
      this.o.recorder.event(
        serviceTarget(svc),
        'Warning',
        'AddressConflict',
        `Address "${c.ip}" is already in use by another host (MAC ${c.mac}) on ${self}/${c.interfaceName}: not announcing it`,
      );
      this.o.reportConflict(svc, { ip: c.ip, mac: c.mac, interfaceName: c.interfaceName, node: self });
    }
  }
}
