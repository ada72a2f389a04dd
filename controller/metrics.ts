// The controller's Prometheus metrics: MetalLB's names (so dashboards keep working) plus IronLB's own.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** ControllerMetrics holds every metric the controller exports, in its own registry. */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly addressesTotal: Gauge;
  readonly addressesInUse: Gauge;
  readonly ipv4Total: Gauge;
  readonly ipv4InUse: Gauge;
  readonly ipv6Total: Gauge;
  readonly ipv6InUse: Gauge;
  readonly configLoaded: Gauge;
  readonly configStale: Gauge;
  readonly allocationFailures: Counter;
  readonly allocations: Counter;
  readonly pendingServices: Gauge;
  readonly statusWrites: Counter;
  readonly reconciles: Counter;
  readonly isLeader: Gauge;
  readonly watchRestarts: Counter;
  readonly invalidObjects: Gauge;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const r = [this.registry];
    const g = (name: string, help: string, labelNames: string[] = []) =>
      new Gauge({ name, help, labelNames, registers: r });
    const c = (name: string, help: string, labelNames: string[] = []) =>
      new Counter({ name, help, labelNames, registers: r });
    this.addressesTotal = g('metallb_allocator_addresses_total', 'Number of usable addresses, per pool', [
      'pool',
    ]);
    this.addressesInUse = g(
      'metallb_allocator_addresses_in_use_total',
      'Number of addresses in use, per pool',
      ['pool'],
    );
    this.ipv4Total = g(
      'metallb_allocator_ipv4_addresses_total',
      'Number of usable IPv4 addresses, per pool',
      ['pool'],
    );
    this.ipv4InUse = g(
      'metallb_allocator_ipv4_addresses_in_use_total',
      'Number of IPv4 addresses in use, per pool',
      ['pool'],
    );
    this.ipv6Total = g(
      'metallb_allocator_ipv6_addresses_total',
      'Number of usable IPv6 addresses, per pool (capped at 2^53-1)',
      ['pool'],
    );
    this.ipv6InUse = g(
      'metallb_allocator_ipv6_addresses_in_use_total',
      'Number of IPv6 addresses in use, per pool',
      ['pool'],
    );
    this.configLoaded = g(
      'metallb_k8s_client_config_loaded_bool',
      '1 if the pool configuration was loaded at least once',
    );
    this.configStale = g(
      'metallb_k8s_client_config_stale_bool',
      '1 if some configuration object is rejected, so the running config differs from the cluster',
    );
    this.allocationFailures = c(
      'ironlb_controller_allocation_failures_total',
      'Failed allocations, by reason code',
      ['reason'],
    );
    this.allocations = c(
      'ironlb_controller_allocations_total',
      'Successful allocations that changed a Service, by allocation step',
      ['source'],
    );
    this.pendingServices = g(
      'ironlb_controller_pending_services',
      'LoadBalancer Services waiting for an address',
    );
    this.statusWrites = c(
      'ironlb_controller_status_writes_total',
      'Writes of Service status by this replica',
    );
    this.reconciles = c('ironlb_controller_reconciles_total', 'Service reconciles, by result', ['result']);
    this.isLeader = g('ironlb_controller_is_leader', '1 while this replica holds the leader Lease');
    this.watchRestarts = c('ironlb_k8s_watch_restarts_total', 'Watch restarts after errors, by resource', [
      'resource',
    ]);
    this.invalidObjects = g(
      'ironlb_config_invalid_objects',
      'Configuration objects rejected by the parse step, by kind',
      ['kind'],
    );
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'ironlb_controller_' });
  }
}
