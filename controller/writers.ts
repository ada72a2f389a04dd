// The controller's writes to the API server: Service status and annotation, IPAddressPool status.
import * as k8s from '@kubernetes/client-node';
import type { PoolStatus } from '../src/allocator/allocator.ts';
import type { ConfigProblem } from '../src/config/problem.ts';
import { POOL_ANNOTATION } from '../src/contracts/annotations.ts';
import { RESOURCES } from '../src/contracts/resources.ts';
import type { StatusWriter } from './service-controller.ts';

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** FIELD_MANAGER names IronLB's controller in managedFields. */
export const FIELD_MANAGER = 'ironlb-controller';

/**
 * ApiStatusWriter writes Service addresses. One allocation is one modification of the Service: a JSON merge
 * patch of the status subresource carrying the pool annotation too. That is the floor: status can only be
 * written through the subresource (the main resource ignores it), and the API server keeps metadata changes
 * made through a Service's status subresource (checked against kube-apiserver 1.35). Should an API server drop
 * them, the returned object says so and the annotation is written by a second patch, as before.
 */
export class ApiStatusWriter implements StatusWriter {
  private readonly core: k8s.CoreV1Api;

  constructor(kc: k8s.KubeConfig) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  async writeAssignment(svc: k8s.V1Service, ips: string[], pool: string | undefined): Promise<string[]> {
    const name = svc.metadata?.name ?? '';
    const namespace = svc.metadata?.namespace ?? '';
    const annotate = (svc.metadata?.annotations?.[POOL_ANNOTATION] ?? undefined) !== pool;
    const ingress = ips.map((ip) => ({ ip, ipMode: 'VIP' }));
    const patched = await this.core.patchNamespacedServiceStatus(
      {
        name,
        namespace,
        fieldManager: FIELD_MANAGER,
        body: {
          ...(annotate ? { metadata: { annotations: { [POOL_ANNOTATION]: pool ?? null } } } : {}),
          status: { loadBalancer: { ingress: ingress.length ? ingress : null } },
        },
      },
      mergePatch,
    );
    const versions = [patched.metadata?.resourceVersion ?? ''];
    if (annotate && (patched.metadata?.annotations?.[POOL_ANNOTATION] ?? undefined) !== pool) {
      const again = await this.core.patchNamespacedService(
        {
          name,
          namespace,
          fieldManager: FIELD_MANAGER,
          body: { metadata: { annotations: { [POOL_ANNOTATION]: pool ?? null } } },
        },
        mergePatch,
      );
      versions.push(again.metadata?.resourceVersion ?? '');
    }
    return versions;
  }

  /** writeCondition sets one Service status condition: a strategic merge on conditions, keyed by type. */
  async writeCondition(
    svc: k8s.V1Service,
    condition: { type: string; status: 'True' | 'False'; reason: string; message: string },
  ): Promise<void> {
    const lastTransitionTime = new Date().toISOString();
    await this.core.patchNamespacedServiceStatus(
      {
        name: svc.metadata?.name ?? '',
        namespace: svc.metadata?.namespace ?? '',
        fieldManager: FIELD_MANAGER,
        body: {
          status: {
            conditions: [
              { ...condition, lastTransitionTime, observedGeneration: svc.metadata?.generation ?? 0 },
            ],
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
  }
}

/** capCount turns a bigint count into a JSON-safe number (an IPv6 /64 exceeds what int64 and JS can carry). */
export function capCount(n: bigint): number {
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** PoolStatusBody is what IronLB writes into IPAddressPool status. */
export interface PoolStatusBody {
  assignedIPv4: number;
  assignedIPv6: number;
  availableIPv4: number;
  availableIPv6: number;
  conditions: {
    type: string;
    status: 'True' | 'False';
    reason: string;
    message: string;
    lastTransitionTime: string;
    observedGeneration?: number;
  }[];
  /** conflicts: addresses of the pool another host on the network uses (avoided by the allocator). */
  conflicts: { address: string; reason: string; detectedBy: string; lastSeen: string }[];
}

/** poolStatusBody builds the status of one pool from allocator counts and parse problems. */
export function poolStatusBody(
  status: PoolStatus | undefined,
  problem: ConfigProblem | undefined,
  previous: PoolStatusBody | undefined,
  now: Date,
  generation?: number,
  conflicts: { address: string; reason: string; detectedBy: string; lastSeen: string }[] = [],
): PoolStatusBody {
  const valid = !problem;
  const reason = valid ? 'Valid' : problem.retryable ? 'MissingReference' : 'Invalid';
  const message = valid ? 'The pool is in use' : problem.message;
  const prevCond = previous?.conditions?.find((c) => c.type === 'Valid');
  const changed = !prevCond || prevCond.status !== (valid ? 'True' : 'False') || prevCond.reason !== reason;
  return {
    assignedIPv4: capCount(status?.assignedIPv4 ?? 0n),
    assignedIPv6: capCount(status?.assignedIPv6 ?? 0n),
    availableIPv4: capCount(status?.availableIPv4 ?? 0n),
    availableIPv6: capCount(status?.availableIPv6 ?? 0n),
    conflicts,
    conditions: [
      {
        type: 'Valid',
        status: valid ? 'True' : 'False',
        reason,
        message,
        lastTransitionTime: changed ? now.toISOString() : (prevCond?.lastTransitionTime ?? now.toISOString()),
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
    ],
  };
}

/** PoolStatusWriter patches IPAddressPool status through the status subresource. */
export class PoolStatusWriter {
  private readonly custom: k8s.CustomObjectsApi;

  constructor(kc: k8s.KubeConfig) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
  }

  async write(namespace: string, name: string, body: Partial<PoolStatusBody>): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus(
      {
        group: RESOURCES.IPAddressPool.group,
        version: RESOURCES.IPAddressPool.version,
        namespace,
        plural: RESOURCES.IPAddressPool.plural,
        name,
        fieldManager: FIELD_MANAGER,
        body: { status: body },
      },
      mergePatch,
    );
  }
}
