// Tells users what is wrong with their metallb.io configuration where they look: a `Valid` condition on each
// L2Advertisement, BGPAdvertisement and BGPPeer (the status subresource) and a Warning Event on any object the
// parse step rejected or found a dangling reference in (a missing pool, BFDProfile, Community or password
// Secret). Only the leader writes. IPAddressPools are reported by the pool status writer (main.ts).
import * as k8s from '@kubernetes/client-node';
import { configReports, type ValidCondition } from '../src/config/conditions.ts';
import type { ParseResult } from '../src/config/parse.ts';
import { apiVersionOf, RESOURCES, type ResourceKind } from '../src/contracts/resources.ts';
import { realClock, type Clock } from '../edge/clock.ts';
import type { Recorder } from '../edge/events.ts';
import { errorMessage } from '../edge/informer.ts';
import type { Logger } from '../edge/log.ts';

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** ConfigObject is what the reporter reads of a cached configuration object. */
export interface ConfigObject {
  kind: string;
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number };
  status?: {
    conditions?: Array<ValidCondition & { lastTransitionTime?: string; observedGeneration?: number }>;
  };
}

/** ConditionWriter writes the status conditions of one object (narrow, so tests pass a recording fake). */
export type ConditionWriter = (
  kind: string,
  namespace: string,
  name: string,
  conditions: Array<ValidCondition & { lastTransitionTime: string; observedGeneration?: number }>,
) => Promise<void>;

/** apiConditionWriter writes conditions through the status subresource with a JSON merge patch. */
export function apiConditionWriter(kc: k8s.KubeConfig, fieldManager: string): ConditionWriter {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  return async (kind, namespace, name, conditions) => {
    const r = RESOURCES[kind as ResourceKind];
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: r.group,
        version: r.version,
        namespace,
        plural: r.plural,
        name,
        fieldManager,
        body: { status: { conditions } },
      },
      mergePatch,
    );
  };
}

/** ConfigReporterOptions: where to write, who records Events, and the leader fence. */
export interface ConfigReporterOptions {
  namespace: string;
  write: ConditionWriter;
  recorder: Recorder;
  canWrite: () => boolean;
  log?: Logger;
  clock?: Clock;
}

/**
 * ConfigReporter turns each parse of the whole configuration into conditions and Events. report() writes a
 * condition only when it differs from the cached one (so a steady configuration costs no writes), and records
 * one Warning Event per new message. It returns false when a write failed: the caller runs it again later.
 */
export class ConfigReporter {
  private readonly evented = new Map<string, string>();
  private readonly clock: Clock;

  private readonly o: ConfigReporterOptions;

  constructor(o: ConfigReporterOptions) {
    this.o = o;
    this.clock = o.clock ?? realClock;
  }

  async report(
    objects: readonly ConfigObject[],
    result: Pick<ParseResult, 'problems' | 'warnings'>,
  ): Promise<boolean> {
    if (!this.o.canWrite()) return true;
    const byKey = new Map(objects.map((obj) => [`${obj.kind}/${obj.metadata?.name ?? ''}`, obj]));
    // Events: every rejected object and every dangling reference, except pools (their writer reports them)
    const found = new Map<string, { kind: string; name: string; reason: string; messages: string[] }>();
    for (const [list, rejected] of [
      [result.problems, true],
      [result.warnings, false],
    ] as const) {
      for (const p of list) {
        if (p.kind === 'IPAddressPool') continue;
        const key = `${p.kind}/${p.name}`;
        const reason = !rejected
          ? 'DanglingReference'
          : p.retryable
            ? 'MissingReference'
            : 'InvalidConfiguration';
        const entry = found.get(key) ?? { kind: p.kind, name: p.name, reason, messages: [] };
        entry.messages.push(p.message);
        found.set(key, entry);
      }
    }
    for (const [key, f] of found) {
      const message = f.messages.join('; ');
      if (this.evented.get(key) === message) continue;
      this.evented.set(key, message);
      const r = RESOURCES[f.kind as ResourceKind];
      this.o.recorder.event(
        {
          kind: f.kind,
          apiVersion: apiVersionOf(r),
          namespace: this.o.namespace,
          name: f.name,
          uid: byKey.get(key)?.metadata?.uid,
        },
        'Warning',
        f.reason,
        message,
      );
    }
    for (const key of [...this.evented.keys()]) if (!found.has(key)) this.evented.delete(key);

    let ok = true;
    const stamp = new Date(this.clock.now()).toISOString();
    const reports = configReports(
      objects.map((obj) => ({ kind: obj.kind, name: obj.metadata?.name ?? '' })),
      result,
    );
    for (const rep of reports) {
      const obj = byKey.get(`${rep.kind}/${rep.name}`);
      const generation = obj?.metadata?.generation;
      const prev = obj?.status?.conditions?.find((c) => c.type === 'Valid');
      const c = rep.condition;
      if (
        prev &&
        prev.status === c.status &&
        prev.reason === c.reason &&
        prev.message === c.message &&
        prev.observedGeneration === generation
      )
        continue;
      const lastTransitionTime =
        prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : stamp;
      try {
        await this.o.write(rep.kind, this.o.namespace, rep.name, [
          {
            ...c,
            lastTransitionTime,
            ...(generation !== undefined ? { observedGeneration: generation } : {}),
          },
        ]);
      } catch (err) {
        ok = false;
        this.o.log?.warn(
          { kind: rep.kind, name: rep.name, err: errorMessage(err) },
          'could not write Valid condition',
        );
      }
    }
    return ok;
  }
}
