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
import { isOurs, toServiceView, type ServiceView } from '../src/service/view.ts';
import { POOL_ANNOTATION } from '../src/contracts/annotations.ts';
import { RESOURCES, apiVersionOf } from '../src/contracts/resources.ts';
import { decodeConflict, encodeReassigned } from '../src/contracts/conflict.ts';
import { serviceTarget, type Recorder } from '../edge/events.ts';
import { DONE, type ReconcileResult } from '../edge/workqueue.ts';
import type { Logger } from '../edge/log.ts';
import { realClock } from '../edge/clock.ts';

/** ConflictRecord is an address found in use by another host, as the controller tracks it. */
export interface ConflictRecord {
  ip: string;
  service: string;
  /** detectedBy: the node that reported it (from the AddressConflict condition). */
  detectedBy: string;
  /** at: when it was reported or the Service was moved off it (ms since epoch). */
  at: number;
}

/** ServiceStore is the read side the reconciler needs (the informer cache). */
export interface ServiceStore {
  getService(key: string): V1Service | undefined;
  listServices(): readonly V1Service[];
  namespaceLabels(namespace: string): Record<string, string>;
}

/** StatusWriter is the narrow write side: status addresses and the pool annotation of one Service. */
export interface StatusWriter {
  /**
   * writeAssignment sets status.loadBalancer.ingress to ips and the pool annotation (undefined removes it).
   * Returns the resourceVersions the Service passed through, in order (the last one is the final state).
   */
  writeAssignment(svc: V1Service, ips: string[], pool: string | undefined): Promise<string[]>;
  /** writeCondition sets one status condition (merged by type). */
  writeCondition(
    svc: V1Service,
    condition: { type: string; status: 'True' | 'False'; reason: string; message: string },
  ): Promise<void>;
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
  /** conflictHoldMs: how long an address reported in use elsewhere stays avoided (default 15 minutes). */
  conflictHoldMs?: number;
  now?: () => number;
}

type PoolObject = { kind: string; metadata?: { name?: string; uid?: string } };

// poolSignature is everything parseConfig reads from pool objects (not their status), in a stable order.
function poolSignature(objects: readonly PoolObject[]): string {
  return JSON.stringify(
    objects
      .map((o) => {
        const { metadata: m, spec } = o as PoolObject & {
          metadata?: { creationTimestamp?: unknown; labels?: unknown; namespace?: string };
          spec?: unknown;
        };
        return [m?.namespace, m?.name, m?.uid, m?.creationTimestamp, m?.labels, spec];
      })
      .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
  );
}
const poolName = (o: PoolObject) => o.metadata?.name ?? '';
const poolUid = (o: PoolObject) => o.metadata?.uid;

// restoreView is the view restores are ordered by (oldest first keeps a contested address). The client's list
// decodes metadata.creationTimestamp into a Date, which toServiceView (plain JSON) would drop, leaving the order
// to the key: normalise both forms to one ISO text.
function restoreView(svc: V1Service): ServiceView {
  const view = toServiceView(svc);
  const created: unknown = svc.metadata?.creationTimestamp;
  const t = created instanceof Date || typeof created === 'string' ? new Date(created) : undefined;
  if (t && !Number.isNaN(t.getTime())) view.creationTimestamp = t.toISOString();
  return view;
}

function statusIPs(svc: V1Service): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);
}

/** ServiceController decides and writes Service addresses. One instance per controller process. */
export class ServiceController {
  readonly allocator = new Allocator();
  private readonly o: ServiceControllerOptions;
  /**
   * pending holds the keys of Services that could not get an address, in the order they first failed: when
   * an address frees they are retried in that order, so the Service that has waited longest gets it.
   */
  readonly pending = new Map<string, string>();
  /**
   * incomplete holds PreferDualStack Services that hold one family of the two they ask for. They are retried
   * after every pending Service (see retryWaiting): a Service with no address serves nobody, one with a
   * single family serves every client of that family, so a freed address goes to the former first.
   */
  readonly incomplete = new Set<string>();
  private warnedDeprecated = new Set<string>();
  private poolProblems: ConfigProblem[] = [];
  /** poolsSeen is poolSignature of the pools last parsed. */
  private poolsSeen: string | undefined;
  /**
   * lastWrite: this controller's last assignment write per Service and the resourceVersions that are older
   * than its final state (the version it started from, and its own in-between versions), until the cache
   * shows the write. See reconcile.
   */
  private readonly lastWrite = new Map<string, { ips: string; pool: string; before: Set<string> }>();
  /** conflicts: addresses avoided because another host uses them, by address. */
  readonly conflicts = new Map<string, ConflictRecord>();
  private config: Config | undefined;
  /** lastGood: the last version of each pool that parsed, used while an edit to it is rejected. */
  private readonly lastGood = new Map<string, { uid: string | undefined; obj: PoolObject }>();

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
    const options = this.o.namespace ? { namespace: this.o.namespace } : {};
    const objects = rawPools.map(
      (p) =>
        ({
          kind: RESOURCES.IPAddressPool.kind,
          apiVersion: apiVersionOf(RESOURCES.IPAddressPool),
          ...(p as object),
        }) as PoolObject,
    );
    // The controller's own pool status writes come back as pool updates. Only what parseConfig reads may
    // change the outcome; anything else (status) must not requeue every Service, or each status write during a
    // burst of Services costs O(Services): 138 reconciles per Service for 5,000 Services, measured.
    const signature = poolSignature(objects);
    if (signature === this.poolsSeen) return this.poolProblems;
    this.poolsSeen = signature;
    const parsed = parseConfig(objects, options);
    const { problems } = parsed;
    let config = parsed.config;
    // Bad input never takes addresses away: an edit that breaks a pool that worked keeps its last working
    // version in use (MetalLB keeps its whole last good configuration). The problem is still reported.
    const broken = new Set(problems.map((p) => p.name));
    const revert = objects.filter((o) => {
      const good = this.lastGood.get(poolName(o));
      return broken.has(poolName(o)) && good !== undefined && good.uid === poolUid(o);
    });
    if (revert.length > 0) {
      config = parseConfig(
        objects.map((o) => (revert.includes(o) ? (this.lastGood.get(poolName(o))?.obj ?? o) : o)),
        options,
      ).config;
    }
    const used = new Map(objects.map((o) => [poolName(o), o]));
    for (const name of [...this.lastGood.keys()]) if (!config.pools.has(name)) this.lastGood.delete(name);
    for (const name of config.pools.keys()) {
      const o = used.get(name);
      if (o && !broken.has(name)) this.lastGood.set(name, { uid: poolUid(o), obj: o });
    }
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
    for (const svc of this.o.store.listServices()) this.noteConflicts(svc);
    for (const svc of this.o.store.listServices()) {
      if (!this.serves(svc) || statusIPs(svc).length === 0) continue;
      this.allocator.restore(restoreView(svc));
      keys.push(keyOf(svc));
    }
    return keys;
  }

  private now(): number {
    return (this.o.now ?? realClock.now)();
  }

  /** noteConflicts avoids every address the Service's AddressConflict condition reports, within the hold time. */
  private noteConflicts(svc: V1Service): void {
    const c = decodeConflict(svc.status?.conditions);
    if (!c) return;
    const hold = this.o.conflictHoldMs ?? 15 * 60_000;
    if (!c.active && this.now() - c.at > hold) return;
    for (const ip of c.ips) {
      const known = this.conflicts.get(ip);
      if (known && known.at >= c.at) continue;
      this.conflicts.set(ip, {
        ip,
        service: keyOf(svc),
        detectedBy: c.detectedBy,
        at: Math.max(c.at, known?.at ?? 0),
      });
      try {
        for (const k of this.allocator.avoid(ip, `in use by another host (reported by ${c.detectedBy})`))
          this.o.enqueue(k);
      } catch {
        /* not an address: the condition was not written by an IronLB speaker */
      }
      this.o.log?.warn(
        { ip, service: keyOf(svc), detectedBy: c.detectedBy },
        'address in use by another host: avoiding it',
      );
      this.o.hooks?.onPoolsChanged?.();
    }
  }

  /**
   * expireConflicts makes addresses avoided longer than the hold time available again (if the other host is
   * still there, the next announcement's probe finds it again). Returns the addresses released.
   */
  expireConflicts(): string[] {
    const hold = this.o.conflictHoldMs ?? 15 * 60_000;
    const out: string[] = [];
    for (const [ip, rec] of this.conflicts) {
      if (this.now() - rec.at <= hold) continue;
      // still reported as in use right now: keep avoiding
      const svc = this.o.store.getService(rec.service);
      const c = svc ? decodeConflict(svc.status?.conditions) : undefined;
      if (c?.active && statusIPs(svc as V1Service).includes(ip)) continue;
      this.conflicts.delete(ip);
      this.allocator.unavoid(ip);
      out.push(ip);
    }
    if (out.length) {
      this.retryWaiting();
      this.o.hooks?.onPoolsChanged?.();
    }
    return out;
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
    this.incomplete.delete(key);
    this.o.hooks?.onReleased?.(key);
    this.retryWaiting();
  }

  // retryWaiting queues, when addresses free up, first the pending Services in the order they first failed,
  // then the PreferDualStack Services still missing a family (deliberately after: see `incomplete`).
  private retryWaiting(): void {
    for (const k of this.pending.keys()) this.o.enqueue(k);
    for (const k of this.incomplete) this.o.enqueue(k);
  }

  /** reconcile converges one Service. Throws to be retried with backoff (e.g. a write conflict). */
  async reconcile(key: string): Promise<ReconcileResult> {
    const svc = this.o.store.getService(key);
    if (!svc) {
      this.lastWrite.delete(key);
      if (this.allocator.release(key)) this.freed(key);
      this.pending.delete(key);
      this.incomplete.delete(key);
      return DONE;
    }
    if (!this.serves(svc)) {
      const held = this.allocator.release(key);
      if (held) this.freed(key);
      this.pending.delete(key);
      this.incomplete.delete(key);
      // A Service that stopped being a LoadBalancer must not keep what we gave it: the API server already wiped
      // status.loadBalancer on the type change, so drop our pool annotation (and any address left). A
      // LoadBalancer of another class belongs to another load balancer (the class is immutable): never touch it.
      const pool = svc.metadata?.annotations?.[POOL_ANNOTATION];
      if (svc.spec?.type !== 'LoadBalancer' && pool !== undefined && this.o.canWrite()) {
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
    this.noteConflicts(svc);
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
    if (
      view.ipFamilyPolicy === 'PreferDualStack' &&
      view.ipFamilies.length === 2 &&
      assignment.ips.length < 2
    )
      this.incomplete.add(key);
    else this.incomplete.delete(key);
    this.o.hooks?.onAssigned?.(assignment);
    const annotated = svc.metadata?.annotations?.[POOL_ANNOTATION];
    if (assignment.changed || annotated !== assignment.pool) {
      // the annotation and status are two writes: the first one's event can bring the Service back before the
      // cache holds the second. While the cache shows a version from before our write finished, the write is
      // on its way and doing it again is waste; any other version is someone else's change and is answered.
      const mine = this.lastWrite.get(key);
      const rv = svc.metadata?.resourceVersion ?? '';
      const stale =
        mine?.ips === assignment.ips.join(',') && mine.pool === assignment.pool && mine.before.has(rv);
      if (stale) return DONE;
      const versions = await this.o.writer.writeAssignment(svc, assignment.ips, assignment.pool);
      this.lastWrite.set(key, {
        ips: assignment.ips.join(','),
        pool: assignment.pool,
        before: new Set([rv, ...versions.slice(0, -1)]),
      });
      this.o.hooks?.onStatusWrite?.();
    } else this.lastWrite.delete(key);
    const conflict = decodeConflict(svc.status?.conditions);
    if (conflict?.active && !conflict.ips.some((ip) => assignment.ips.includes(ip))) {
      const reassigned = encodeReassigned({
        ips: conflict.ips,
        detectedBy: conflict.detectedBy,
        movedTo: assignment.ips,
      });
      await this.o.writer.writeCondition(svc, reassigned);
      this.o.recorder.event(
        serviceTarget(svc),
        'Warning',
        'AddressConflict',
        `Moved off ${JSON.stringify(conflict.ips)}, which another host on the network uses, to ${JSON.stringify(assignment.ips)}`,
      );
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
    this.incomplete.delete(key);
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
