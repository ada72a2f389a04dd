// The Service reconciler: for one Service key, read the Service from the cache, ask the allocator for its
// addresses given the current pools, and write status and the pool annotation only when they differ.
// Service status is the only state: on start, every Service that already holds addresses is restored into the
// allocator before anything is assigned, so a restart never moves an assignment.
import type { V1Service } from '@kubernetes/client-node';
import { parseConfig } from '../src/config/parse.ts';
import type { ConfigProblem } from '../src/config/problem.ts';
import type { Config } from '../src/config/model.ts';
import { Allocator, type Assignment } from '../src/allocator/allocator.ts';
import { AllocationError } from '../src/allocator/errors.ts';
import { ANNOTATIONS, isOurs, toServiceView, type ServiceView } from '../src/service/view.ts';
import type { Recorder, EventTarget } from '../edge/events.ts';
import { DONE, type ReconcileResult } from '../edge/workqueue.ts';
import type { Logger } from '../edge/log.ts';

/** POOL_ANNOTATION is written on every Service with the pool its addresses came from. */
export const POOL_ANNOTATION = 'metallb.io/ip-allocated-from-pool';

/** ServiceStore is the read side the reconciler needs (the informer cache). */
export interface ServiceStore {
  getService(key: string): V1Service | undefined;
  listServices(): readonly V1Service[];
  namespaceLabels(namespace: string): Record<string, string>;
}

/** StatusWriter is the narrow write side: status addresses and the pool annotation of one Service. */
export interface StatusWriter {
  /** writeAssignment sets status.loadBalancer.ingress to ips and the pool annotation (undefined removes it). */
  writeAssignment(svc: V1Service, ips: string[], pool: string | undefined): Promise<void>;
}

/** ControllerHooks receive what happened, for metrics and pool status; all optional. */
export interface ControllerHooks {
  onAssigned?(a: Assignment): void;
  onFailed?(key: string, err: AllocationError): void;
  onReleased?(key: string): void;
  onPoolsChanged?(): void;
  onStatusWrite?(): void;
}

/** ServiceControllerOptions wires the reconciler to its edges. */
export interface ServiceControllerOptions {
  store: ServiceStore;
  writer: StatusWriter;
  recorder: Recorder;
  enqueue: (key: string) => void;
  /** canWrite is the leader fence: false means another replica may be writing, so do nothing now. */
  canWrite: () => boolean;
  lbClass?: string;
  namespace?: string;
  log?: Logger;
  hooks?: ControllerHooks;
}

function serviceTarget(svc: V1Service): EventTarget {
  return {
    kind: 'Service',
    apiVersion: 'v1',
    namespace: svc.metadata?.namespace,
    name: svc.metadata?.name ?? '',
    uid: svc.metadata?.uid,
  };
}

function statusIPs(svc: V1Service): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);
}

/** ServiceController decides and writes Service addresses. One instance per controller process. */
export class ServiceController {
  readonly allocator = new Allocator();
  private readonly o: ServiceControllerOptions;
  /** pending holds the keys of Services that could not get an address: retried when addresses free up. */
  readonly pending = new Map<string, string>();
  private warnedDeprecated = new Set<string>();
  private poolProblems: ConfigProblem[] = [];
  private config: Config | undefined;

  constructor(options: ServiceControllerOptions) {
    this.o = options;
  }

  /** problems are the pool objects parseConfig rejected in the last setPools. */
  get problems(): readonly ConfigProblem[] {
    return this.poolProblems;
  }

  /** currentConfig is the parsed configuration the allocator uses. */
  get currentConfig(): Config | undefined {
    return this.config;
  }

  /**
   * setPools parses the IPAddressPool objects and installs them. Services that lost their addresses and every
   * pending Service are queued. Returns the parse problems (one per rejected object).
   */
  setPools(rawPools: readonly unknown[]): ConfigProblem[] {
    const { config, problems } = parseConfig(
      rawPools.map((p) => ({ kind: 'IPAddressPool', apiVersion: 'metallb.io/v1beta1', ...(p as object) })),
      this.o.namespace ? { namespace: this.o.namespace } : {},
    );
    this.config = config;
    this.poolProblems = problems;
    const lost = this.allocator.setConfig(config);
    for (const key of lost) this.o.enqueue(key);
    // any Service may now get, lose or change its addresses: reconcile them all (level-based, cheap when equal)
    for (const svc of this.o.store.listServices()) this.o.enqueue(keyOf(svc));
    this.o.hooks?.onPoolsChanged?.();
    return problems;
  }

  /**
   * restoreAll records every Service whose status holds addresses, before any assignment (status is the
   * state of record). Returns the keys restored, which the caller queues first.
   */
  restoreAll(): string[] {
    const keys: string[] = [];
    for (const svc of this.o.store.listServices()) {
      if (!this.serves(svc) || statusIPs(svc).length === 0) continue;
      this.allocator.restore(toServiceView(svc));
      keys.push(keyOf(svc));
    }
    return keys;
  }

  /** serves reports whether this controller is responsible for the Service (type and loadBalancerClass). */
  serves(svc: V1Service): boolean {
    return (
      svc.spec?.type === 'LoadBalancer' &&
      isOurs({ loadBalancerClass: svc.spec?.loadBalancerClass }, this.o.lbClass)
    );
  }

  private freed(key: string): void {
    this.pending.delete(key);
    this.o.hooks?.onReleased?.(key);
    for (const k of this.pending.keys()) this.o.enqueue(k);
  }

  /** reconcile converges one Service. Throws to be retried with backoff (e.g. a write conflict). */
  async reconcile(key: string): Promise<ReconcileResult> {
    const svc = this.o.store.getService(key);
    if (!svc) {
      if (this.allocator.release(key)) this.freed(key);
      this.pending.delete(key);
      return DONE;
    }
    if (!this.serves(svc)) {
      const held = this.allocator.release(key);
      if (held) this.freed(key);
      this.pending.delete(key);
      // a Service that stopped being ours (type or class changed) must not keep addresses we gave it
      const pool = svc.metadata?.annotations?.[POOL_ANNOTATION];
      if (pool && statusIPs(svc).length > 0 && this.o.canWrite()) {
        await this.o.writer.writeAssignment(svc, [], undefined);
        this.o.hooks?.onStatusWrite?.();
        this.o.recorder.event(
          serviceTarget(svc),
          'Normal',
          'ClearAssignment',
          'Addresses released: the Service is no longer a LoadBalancer served by IronLB',
        );
      }
      return DONE;
    }
    if (!this.o.canWrite()) return { requeueAfterMs: 1000 };
    const view = toServiceView(svc);
    this.warnDeprecated(svc, view);
    let assignment: Assignment;
    try {
      assignment = this.allocator.assign(view, this.o.store.namespaceLabels(view.namespace));
    } catch (err) {
      if (!(err instanceof AllocationError)) throw err;
      return this.failed(svc, view, err);
    }
    this.pending.delete(key);
    this.o.hooks?.onAssigned?.(assignment);
    const annotated = svc.metadata?.annotations?.[POOL_ANNOTATION];
    if (assignment.changed || annotated !== assignment.pool) {
      await this.o.writer.writeAssignment(svc, assignment.ips, assignment.pool);
      this.o.hooks?.onStatusWrite?.();
    }
    if (assignment.dropped) {
      this.o.recorder.event(
        serviceTarget(svc),
        'Warning',
        'ClearAssignment',
        `Addresses ${JSON.stringify(assignment.dropped.ips)} released: ${assignment.dropped.reason}`,
      );
    }
    if (assignment.changed) {
      this.o.recorder.event(
        serviceTarget(svc),
        'Normal',
        'IPAllocated',
        `Assigned IP ${JSON.stringify(assignment.ips)} from pool "${assignment.pool}"`,
      );
      this.o.log?.info(
        { service: key, ips: assignment.ips, pool: assignment.pool, source: assignment.source },
        'assigned',
      );
    }
    return DONE;
  }

  private async failed(svc: V1Service, view: ServiceView, err: AllocationError): Promise<ReconcileResult> {
    const key = view.key;
    this.o.hooks?.onFailed?.(key, err);
    const before = this.pending.get(key);
    this.pending.set(key, err.message);
    // invalidService leaves the holding as it was; every other failure means the Service holds nothing now
    const holding = this.allocator.allocationOf(key);
    if (!holding && statusIPs(svc).length > 0) {
      await this.o.writer.writeAssignment(svc, [], undefined);
      this.o.hooks?.onStatusWrite?.();
      this.o.recorder.event(
        serviceTarget(svc),
        'Warning',
        'ClearAssignment',
        `Addresses ${JSON.stringify(statusIPs(svc))} released: ${err.detail}`,
      );
    }
    if (before !== err.message) {
      this.o.recorder.event(serviceTarget(svc), 'Warning', 'AllocationFailed', err.message);
      this.o.log?.warn({ service: key, code: err.code, reason: err.detail }, 'allocation failed');
    }
    // retried when addresses free up or pools change; a slow safety net covers anything missed
    return { requeueAfterMs: 300_000 };
  }

  private warnDeprecated(svc: V1Service, view: ServiceView): void {
    if (view.deprecatedAnnotations.length === 0) return;
    const mark = `${view.key}@${svc.metadata?.uid}@${view.deprecatedAnnotations.join(',')}`;
    if (this.warnedDeprecated.has(mark)) return;
    this.warnedDeprecated.add(mark);
    const replacements = view.deprecatedAnnotations.map(
      (k) => `"${k}" → "metallb.io/${k.slice(k.indexOf('/') + 1)}"`,
    );
    this.o.recorder.event(
      serviceTarget(svc),
      'Warning',
      'deprecatedAnnotation',
      `Deprecated annotation used, please switch: ${replacements.join(', ')}`,
    );
  }
}

/** keyOf returns the "namespace/name" key of a Service. */
export function keyOf(svc: V1Service): string {
  return `${svc.metadata?.namespace}/${svc.metadata?.name}`;
}

export { ANNOTATIONS };
