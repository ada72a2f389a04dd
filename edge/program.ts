// The program shell: what every IronLB program (controller, speaker, ingress) does the same way, done once.
// It parses flags (defaults from the environment), prints --help, builds the logger, the kubeconfig and the
// program's metrics, serves /metrics /healthz /readyz (and the program's /debug pages), holds the Lease when
// the program asks for one, and turns SIGTERM/SIGINT into one orderly stop. The program itself is an App made
// by its create function from ProgramDeps; each main.ts only names its flags and calls runProgram.
import type * as k8s from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { Registry } from 'prom-client';
import { realClock, type Clock } from './clock.ts';
import { loadKubeConfig } from './connections.ts';
import { serveMetrics } from './http.ts';
import { errorMessage } from './informer.ts';
import { LeaderElector } from './leader.ts';
import { createLogger, type Logger } from './log.ts';

/** Lease is the leader fence a program reads before it writes: true while this replica may write. */
export interface Lease {
  isLeader(): boolean;
}

/** ProgramDeps is everything a program gets from outside: API access, time, logs, metrics, the Lease. */
export interface ProgramDeps<M> {
  kube: k8s.KubeConfig;
  clock: Clock;
  log: Logger;
  metrics: M;
  /** lease: held by this replica (always true for programs that run without one). */
  lease: Lease;
}

/** DebugPage is what a /debug path answers. */
export type DebugPage = { status: number; body: string; type?: string } | undefined;

/** App is a running program: start once, stop once; ready() backs /readyz. */
export interface App {
  /** start brings the program up (caches synced, serving); it rejects when the program cannot run. */
  start(): Promise<void>;
  /** stop ends the program in order (handoff, flush); the shell exits once it resolves. */
  stop(signal: string): Promise<void>;
  ready(): boolean;
  /** debug answers a path the metrics server does not know (/debug/plan, /debug/pending, …). */
  debug?(path: string): Promise<DebugPage>;
  /** lead: this replica now holds the Lease (called at once when leader election is off). */
  lead?(): void;
  /** unlead: this replica lost the Lease. */
  unlead?(): void;
}

/** Flags are parsed flag values by name. */
export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** ProgramSpec describes one program to the shell. */
export interface ProgramSpec<M extends { registry: Registry }> {
  /** name: the logger's name and the Event component, e.g. "ironlb-controller". */
  name: string;
  /** short: how error messages name the program ("controller"). */
  short: string;
  usage: string;
  /** options: parseArgs options; must include kubeconfig, log-level, metrics-host and metrics-port. */
  options: ParseArgsOptionsConfig;
  /** check validates flags and returns what is wrong (exit status 2), or undefined. */
  check?(flags: Flags): string | undefined;
  /** logFields: fields on every log line (the node, the identity). */
  logFields?(flags: Flags): Record<string, unknown>;
  /**
   * lease: leader election from the standard flags (leader-elect, lease-name, identity, lease-duration,
   * renew-deadline, retry-period). exitOnLoss: a replica that loses the Lease exits (never two writers).
   */
  lease?: { exitOnLoss: boolean };
  metrics(): M;
  create(flags: Flags, deps: ProgramDeps<M>): App;
}

/** defaultIdentity is the Lease holder identity when --identity and IRONLB_POD_NAME are unset. */
export function defaultIdentity(): string {
  return `${hostname()}-${process.pid}`;
}

/**
 * runProgram runs a program until a signal stops it: flags, logger, kubeconfig, metrics server, start, Lease,
 * signals. Exit status: 0 after an orderly stop, 1 when start fails or the Lease is lost with exitOnLoss, 2 for
 * bad flags.
 */
export function runProgram<M extends { registry: Registry }>(spec: ProgramSpec<M>): void {
  const { values: f } = parseArgs({ options: spec.options }) as { values: Flags };
  if (f.help) {
    console.log(spec.usage);
    process.exit(0);
  }
  const metricsPort = Number(f['metrics-port']);
  const problem =
    spec.check?.(f) ??
    (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535
      ? `--metrics-port must be a port number, not "${String(f['metrics-port'])}"\n\n${spec.usage}`
      : undefined);
  if (problem) {
    console.error(`${spec.short}: ${problem}`);
    process.exit(2);
  }
  const log = createLogger(spec.name, f['log-level'] as string).child(spec.logFields?.(f) ?? {});
  const kube = loadKubeConfig(f.kubeconfig as string | undefined);
  const metrics = spec.metrics();
  const leaderElect = spec.lease !== undefined && f['leader-elect'] === 'true';
  let elector: LeaderElector | undefined;
  let leading = !leaderElect;
  const lease: Lease = { isLeader: () => (elector ? elector.isLeader() : leading) };
  const app = spec.create(f, { kube, clock: realClock, log, metrics, lease });

  const main = async (): Promise<void> => {
    if (metricsPort > 0) {
      await serveMetrics({
        host: f['metrics-host'] as string,
        port: metricsPort,
        registry: metrics.registry,
        ready: () => app.ready(),
        extra: async (path) => app.debug?.(path),
      });
    }
    await app.start();
    if (!spec.lease) return;
    if (!leaderElect) {
      leading = true;
      app.lead?.();
      return;
    }
    elector = new LeaderElector(kube, {
      namespace: f.namespace as string,
      name: f['lease-name'] as string,
      identity: f.identity as string,
      leaseDurationSeconds: Number(f['lease-duration']),
      renewDeadlineSeconds: Number(f['renew-deadline']),
      retryPeriodSeconds: Number(f['retry-period']),
      log,
      onStartedLeading: () => app.lead?.(),
      onStoppedLeading: () => {
        app.unlead?.();
        if (spec.lease?.exitOnLoss) process.exit(1);
      },
    });
    elector.start();
  };

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await Promise.all([app.stop(signal), elector?.stop()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  main().catch((err: unknown) => {
    log.fatal({ err: errorMessage(err) }, `${spec.short} failed to start`);
    stopping = true;
    void app
      .stop('start failed')
      .catch(() => undefined)
      .finally(() => process.exit(1));
  });
}

/**
 * standardOptions are the flags every program shares, defaulting from env: kubeconfig, namespace, metrics,
 * log level, help; with leaseName also leader election (leader-elect, lease-name, identity, lease timings).
 */
export function standardOptions(
  env: NodeJS.ProcessEnv,
  d: { metricsPort: string; leaseName?: string },
): ParseArgsOptionsConfig {
  return {
    kubeconfig: { type: 'string', default: env.KUBECONFIG },
    namespace: { type: 'string', default: env.IRONLB_NAMESPACE ?? 'ironlb-system' },
    'metrics-host': { type: 'string', default: env.IRONLB_METRICS_HOST ?? '0.0.0.0' },
    'metrics-port': { type: 'string', default: env.IRONLB_METRICS_PORT ?? d.metricsPort },
    'log-level': { type: 'string', default: env.IRONLB_LOG_LEVEL ?? 'info' },
    help: { type: 'boolean', short: 'h' },
    ...(d.leaseName
      ? {
          'leader-elect': { type: 'string', default: env.IRONLB_LEADER_ELECT ?? 'true' },
          'lease-name': { type: 'string', default: env.IRONLB_LEASE_NAME ?? d.leaseName },
          identity: { type: 'string', default: env.IRONLB_POD_NAME ?? defaultIdentity() },
          'lease-duration': { type: 'string', default: '15' },
          'renew-deadline': { type: 'string', default: '10' },
          'retry-period': { type: 'string', default: '2' },
        }
      : {}),
  };
}
