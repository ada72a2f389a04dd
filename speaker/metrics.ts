// The speaker's Prometheus metrics: MetalLB's names plus IronLB's own.
import { Counter, Gauge, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';

/**
 * SeriesSet keeps one owner's series of a shared gauge equal to a given list: series no longer listed are
 * removed, listed ones set to 1. Layer 2 and BGP each own their series of metallb_speaker_announced.
 */
export class SeriesSet<L extends string> {
  private current = new Map<string, LabelValues<L>>();
  private readonly gauge: Gauge<L>;

  constructor(gauge: Gauge<L>) {
    this.gauge = gauge;
  }

  /** replace makes the owner's series exactly `series`. O(old + new). */
  replace(series: readonly LabelValues<L>[]): void {
    const next = new Map(series.map((l) => [JSON.stringify(l), l]));
    for (const [k, l] of this.current) if (!next.has(k)) this.gauge.remove(l);
    for (const l of next.values()) this.gauge.set(l, 1);
    this.current = next;
  }
}

/** SpeakerMetrics holds every metric the speaker exports, in its own registry. */
export class SpeakerMetrics {
  readonly registry = new Registry();
  readonly announced: Gauge<'node' | 'protocol' | 'service' | 'ip'>;
  readonly requestsReceived: Counter;
  readonly responsesSent: Counter;
  readonly gratuitousSent: Counter;
  readonly membersAlive: Gauge;
  readonly conflicts: Gauge;
  readonly planSeconds: Counter;
  readonly plans: Counter;
  readonly configStale: Gauge;
  readonly configLoaded: Gauge;

  constructor() {
    const r = [this.registry];
    this.announced = new Gauge({
      name: 'metallb_speaker_announced',
      help: 'Services being announced from this node, by protocol',
      labelNames: ['node', 'protocol', 'service', 'ip'],
      registers: r,
    });
    this.requestsReceived = new Counter({
      name: 'metallb_layer2_requests_received',
      help: 'ARP requests and neighbour solicitations received for announced addresses',
      labelNames: ['ip'],
      registers: r,
    });
    this.responsesSent = new Counter({
      name: 'metallb_layer2_responses_sent',
      help: 'ARP replies and neighbour advertisements sent',
      labelNames: ['ip'],
      registers: r,
    });
    this.gratuitousSent = new Counter({
      name: 'metallb_layer2_gratuitous_sent',
      help: 'Gratuitous ARP and unsolicited neighbour advertisements sent',
      labelNames: ['ip'],
      registers: r,
    });
    this.membersAlive = new Gauge({
      name: 'ironlb_speaker_members_alive',
      help: 'Speakers this speaker sees alive (itself included)',
      registers: r,
    });
    this.conflicts = new Gauge({
      name: 'ironlb_speaker_address_conflicts',
      help: '1 for each address another host on the network already uses',
      labelNames: ['ip', 'interface', 'mac'],
      registers: r,
    });
    this.planSeconds = new Counter({
      name: 'ironlb_speaker_plan_seconds_total',
      help: 'Time spent computing announcement plans',
      registers: r,
    });
    this.plans = new Counter({
      name: 'ironlb_speaker_plans_total',
      help: 'Announcement plans computed, by trigger',
      labelNames: ['trigger'],
      registers: r,
    });
    this.configStale = new Gauge({
      name: 'metallb_k8s_client_config_stale_bool',
      help: '1 if some configuration object is rejected',
      registers: r,
    });
    this.configLoaded = new Gauge({
      name: 'metallb_k8s_client_config_loaded_bool',
      help: '1 once the configuration was loaded',
      registers: r,
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'ironlb_speaker_' });
  }
}
