// The speaker's Prometheus metrics: MetalLB's names plus IronLB's own.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** SpeakerMetrics holds every metric the speaker exports, in its own registry. */
export class SpeakerMetrics {
  readonly registry = new Registry();
  readonly announced: Gauge;
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
