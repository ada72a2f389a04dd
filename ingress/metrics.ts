// The ingress's Prometheus metrics: its control loop (reconciles, applies by kind, issues, status writes,
// data-plane restarts) and, read from HAProxy's stats at scrape time, the requests the data plane served.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { realClock, type Clock } from '../edge/clock.ts';

/** FrontendStats are HAProxy's counters of one frontend since its worker started. */
export interface FrontendStats {
  frontend: string;
  requests: number;
  /** responses by status class ("1xx" … "5xx", "other"). */
  responses: Record<string, number>;
  connections: number;
}

/**
 * parseFrontendStats reads the frontends' rows of HAProxy's `show stat` CSV (header "# pxname,svname,…").
 * Rows of backends and servers are skipped; unknown columns are ignored.
 */
export function parseFrontendStats(csv: string): FrontendStats[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.replace(/^#\s*/, '').split(',') ?? [];
  const col = (name: string) => header.indexOf(name);
  const num = (row: string[], name: string): number => {
    const i = col(name);
    const v = i >= 0 ? Number(row[i] ?? '') : NaN;
    return Number.isFinite(v) ? v : 0;
  };
  const out: FrontendStats[] = [];
  for (const line of lines.slice(1)) {
    const row = line.split(',');
    if (row[col('svname')] !== 'FRONTEND') continue;
    const responses: Record<string, number> = {};
    for (const c of ['1xx', '2xx', '3xx', '4xx', '5xx', 'other']) responses[c] = num(row, `hrsp_${c}`);
    out.push({
      frontend: row[col('pxname')] ?? '',
      requests: num(row, 'req_tot'),
      responses,
      connections: num(row, 'conn_tot'),
    });
  }
  return out;
}

/** IngressMetrics holds every metric the ingress exports, in its own registry. */
export class IngressMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter;
  readonly applies: Counter;
  readonly issues: Gauge;
  readonly servedIngresses: Gauge;
  readonly statusWrites: Counter;
  readonly events: Counter;
  readonly dataplaneRestarts: Counter;
  readonly dataplaneUp: Gauge;
  readonly isLeader: Gauge;
  readonly watchRestarts: Counter;
  readonly requests: Counter;
  readonly responses: Counter;
  readonly connections: Counter;

  /** stats, when set, is read at every scrape to fill the request counters (HAProxy's own counters). */
  stats: (() => Promise<FrontendStats[]>) | undefined;

  constructor(options: { defaultMetrics?: boolean; clock?: Clock } = {}) {
    const clock = options.clock ?? realClock;
    const r = [this.registry];
    const c = (name: string, help: string, labelNames: string[] = []) =>
      new Counter({ name, help, labelNames, registers: r });
    const g = (name: string, help: string, labelNames: string[] = []) =>
      new Gauge({ name, help, labelNames, registers: r });
    this.reconciles = c('ironlb_ingress_reconciles_total', 'Reconciles of the route table, by result', [
      'result',
    ]);
    this.applies = c(
      'ironlb_ingress_config_applies_total',
      'Route tables applied to the data plane, by mode (runtime, reload, unchanged, rejected, start)',
      ['mode'],
    );
    this.issues = g('ironlb_ingress_issues', 'Current problems with Ingresses, by kind and reason', [
      'kind',
      'reason',
    ]);
    this.servedIngresses = g('ironlb_ingress_served_ingresses', 'Ingresses of our classes');
    this.statusWrites = c('ironlb_ingress_status_writes_total', 'Ingress status writes, by result', [
      'result',
    ]);
    this.events = c('ironlb_ingress_events_total', 'Events written on Ingresses, by reason', ['reason']);
    this.dataplaneRestarts = c(
      'ironlb_ingress_dataplane_restarts_total',
      'HAProxy starts after an unexpected exit',
    );
    this.dataplaneUp = g('ironlb_ingress_dataplane_up', '1 while HAProxy runs');
    this.isLeader = g('ironlb_ingress_is_leader', '1 while this replica holds the status Lease');
    this.watchRestarts = c(
      'ironlb_ingress_watch_restarts_total',
      'Watch restarts after errors, by resource',
      ['resource'],
    );
    // One `show stat` per scrape serves the three counters below.
    let cached: { at: number; rows: Promise<FrontendStats[]> } | undefined;
    const fromStats = (): Promise<FrontendStats[]> => {
      const now = clock.now();
      if (cached && now - cached.at < 1000) return cached.rows;
      const rows = (this.stats?.() ?? Promise.resolve([])).catch(() => []);
      cached = { at: now, rows };
      return rows;
    };
    // HAProxy's counters restart with its worker; a counter that goes down is a reset to Prometheus.
    this.requests = new Counter({
      name: 'ironlb_ingress_requests_total',
      help: 'HTTP requests received by the data plane (HAProxy req_tot), by frontend',
      labelNames: ['frontend'],
      registers: r,
      async collect() {
        const rows = await fromStats();
        this.reset();
        for (const s of rows) this.inc({ frontend: s.frontend }, s.requests);
      },
    });
    this.responses = new Counter({
      name: 'ironlb_ingress_responses_total',
      help: 'HTTP responses sent by the data plane (HAProxy hrsp_*), by frontend and status class',
      labelNames: ['frontend', 'code'],
      registers: r,
      async collect() {
        const rows = await fromStats();
        this.reset();
        for (const s of rows)
          for (const [code, n] of Object.entries(s.responses)) this.inc({ frontend: s.frontend, code }, n);
      },
    });
    this.connections = new Counter({
      name: 'ironlb_ingress_connections_total',
      help: 'Client connections accepted by the data plane (HAProxy conn_tot), by frontend',
      labelNames: ['frontend'],
      registers: r,
      async collect() {
        const rows = await fromStats();
        this.reset();
        for (const s of rows) this.inc({ frontend: s.frontend }, s.connections);
      },
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}
