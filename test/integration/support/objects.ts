// Kubernetes objects the controller tests create and read: LoadBalancer Services, IPAddressPools, Events.
// Every wait is bounded (waitFor) and names what it waited for.
import * as k8s from '@kubernetes/client-node';
import { join } from 'node:path';
import { run, waitFor } from '../../harness/exec.ts';
import { nodeBin, repoRoot } from '../../harness/paths.ts';
import { ensureNamespace, isNotFound, mergePatch, type Clients } from '../../harness/kube.ts';

/** POOL_ANNOTATION is what the controller writes on each Service: the pool its addresses came from. */
export const POOL_ANNOTATION = 'metallb.io/ip-allocated-from-pool';

/** ServiceOptions shape a LoadBalancer Service for a test. */
export interface ServiceOptions {
  lbClass?: string | null;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  ports?: { port: number; protocol?: 'TCP' | 'UDP' }[];
  loadBalancerIP?: string;
  ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  ipFamilies?: ('IPv4' | 'IPv6')[];
  externalTrafficPolicy?: 'Cluster' | 'Local';
  selector?: Record<string, string>;
}

/** lbService builds a type LoadBalancer Service body (no node ports, so thousands fit in the port range). */
export function lbService(namespace: string, name: string, o: ServiceOptions = {}): k8s.V1Service {
  const spec: k8s.V1ServiceSpec = {
    type: 'LoadBalancer',
    allocateLoadBalancerNodePorts: false,
    ports: (o.ports ?? [{ port: 80 }]).map((p) => ({
      name: `p${p.port}-${(p.protocol ?? 'TCP').toLowerCase()}`,
      port: p.port,
      protocol: p.protocol ?? 'TCP',
    })),
    selector: o.selector ?? { app: name },
  };
  if (o.lbClass) spec.loadBalancerClass = o.lbClass;
  if (o.loadBalancerIP) spec.loadBalancerIP = o.loadBalancerIP;
  if (o.ipFamilyPolicy) spec.ipFamilyPolicy = o.ipFamilyPolicy;
  if (o.ipFamilies) spec.ipFamilies = o.ipFamilies;
  if (o.externalTrafficPolicy) spec.externalTrafficPolicy = o.externalTrafficPolicy;
  return { metadata: { name, namespace, annotations: o.annotations, labels: o.labels }, spec };
}

/** ingressIPs returns the addresses in status.loadBalancer.ingress. */
export function ingressIPs(svc: k8s.V1Service | undefined): string[] {
  return (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);
}

/** PoolSpec is an IPAddressPool spec as a user writes it. */
export interface PoolSpec {
  addresses: string[];
  autoAssign?: boolean;
  avoidBuggyIPs?: boolean;
  serviceAllocation?: {
    priority?: number;
    namespaces?: string[];
    namespaceSelectors?: { matchLabels?: Record<string, string> }[];
    serviceSelectors?: { matchLabels?: Record<string, string> }[];
  };
}

/** PoolCondition is one condition of IPAddressPool status. */
export interface PoolCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** PoolStatusView is the part of IPAddressPool status the tests read. */
export interface PoolStatusView {
  assignedIPv4?: number;
  assignedIPv6?: number;
  availableIPv4?: number;
  availableIPv6?: number;
  conditions?: PoolCondition[];
}

/** TestEnv is one test's world: a Service namespace, a config namespace and a loadBalancerClass. */
export class TestEnv {
  readonly c: Clients;
  /** ns holds the test's Services. */
  readonly ns: string;
  /** configNs holds the IPAddressPools and the Lease of the controller under test. */
  readonly configNs: string;
  readonly lbClass: string;
  /** log is the controller's log file: its tail is added to failed waits. */
  log: string | undefined;
  private readonly extra: string[] = [];

  constructor(c: Clients, id: string) {
    this.c = c;
    this.ns = `ctl-${id}`;
    this.configNs = `ironlb-cfg-${id}`;
    this.lbClass = `ironlb-test-${id}`;
  }

  /** create makes both namespaces. */
  async create(labels?: Record<string, string>): Promise<this> {
    await ensureNamespace(this.c, this.ns, labels);
    await ensureNamespace(this.c, this.configNs);
    return this;
  }

  /** namespace creates one more Service namespace, `<ns>-<suffix>`, deleted by destroy. */
  async namespace(suffix: string, labels?: Record<string, string>): Promise<string> {
    const name = `${this.ns}-${suffix}`;
    await ensureNamespace(this.c, name, labels);
    this.extra.push(name);
    return name;
  }

  /** labelNamespace replaces the labels IronLB may select on (null removes a label). */
  async labelNamespace(name: string, labels: Record<string, string | null>): Promise<void> {
    await this.c.core.patchNamespace({ name, body: { metadata: { labels } } }, mergePatch);
  }

  /** destroy deletes the namespaces (the namespace controller removes what is in them). */
  async destroy(): Promise<void> {
    for (const name of [this.ns, this.configNs, ...this.extra]) {
      try {
        await this.c.core.deleteNamespace({ name });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  /** service creates a LoadBalancer Service of this env's class (unless o.lbClass says otherwise). */
  async service(name: string, o: ServiceOptions = {}, namespace = this.ns): Promise<k8s.V1Service> {
    const body = lbService(namespace, name, { lbClass: this.lbClass, ...o });
    if (o.lbClass === null) delete body.spec?.loadBalancerClass;
    return this.c.core.createNamespacedService({ namespace, body });
  }

  /** getService reads a Service, or undefined when it does not exist. */
  async getService(name: string, namespace = this.ns): Promise<k8s.V1Service | undefined> {
    try {
      return await this.c.core.readNamespacedService({ name, namespace });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** deleteService deletes a Service. */
  async deleteService(name: string, namespace = this.ns): Promise<void> {
    await this.c.core.deleteNamespacedService({ name, namespace });
  }

  /** patchService applies a JSON merge patch to a Service. */
  async patchService(name: string, body: object, namespace = this.ns): Promise<k8s.V1Service> {
    return this.c.core.patchNamespacedService({ name, namespace, body }, mergePatch);
  }

  /** waitIPs waits until the Service's status holds exactly `count` addresses and returns them. */
  async waitIPs(
    name: string,
    count = 1,
    options: { timeoutMs?: number; namespace?: string } = {},
  ): Promise<string[]> {
    const ns = options.namespace ?? this.ns;
    return waitFor(
      `${count} address(es) in the status of Service "${ns}/${name}"`,
      async () => {
        const ips = ingressIPs(await this.getService(name, ns));
        return ips.length === count ? ips : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 100, log: this.log },
    );
  }

  /** waitFor waits until the Service satisfies pred and returns it. */
  async waitService(
    name: string,
    what: string,
    pred: (svc: k8s.V1Service) => boolean,
    options: { timeoutMs?: number; namespace?: string } = {},
  ): Promise<k8s.V1Service> {
    const ns = options.namespace ?? this.ns;
    return waitFor(
      `Service "${ns}/${name}": ${what}`,
      async () => {
        const svc = await this.getService(name, ns);
        return svc && pred(svc) ? svc : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 100, log: this.log },
    );
  }

  /** events lists the Events about an object in a namespace (any kind), oldest first. */
  async events(name: string, namespace = this.ns): Promise<k8s.CoreV1Event[]> {
    const list = await this.c.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=${name}`,
    });
    return list.items.sort((a, b) =>
      String(a.firstTimestamp ?? a.eventTime ?? '').localeCompare(
        String(b.firstTimestamp ?? b.eventTime ?? ''),
      ),
    );
  }

  /** waitEvent waits for an Event with this reason (and, if given, a message containing `text`). */
  async waitEvent(
    name: string,
    reason: string,
    text?: string | RegExp,
    options: { timeoutMs?: number; namespace?: string } = {},
  ): Promise<k8s.CoreV1Event> {
    const ns = options.namespace ?? this.ns;
    const matches = (m: string) =>
      text === undefined || (typeof text === 'string' ? m.includes(text) : text.test(m));
    let seen: string[] = [];
    try {
      return await waitFor(
        `Event "${reason}"${text ? ` matching ${String(text)}` : ''} on "${ns}/${name}"`,
        async () => {
          const evs = await this.events(name, ns);
          seen = evs.map((e) => `${e.reason}: ${e.message}`);
          return evs.find((e) => e.reason === reason && matches(e.message ?? ''));
        },
        { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 150, log: this.log },
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\nEvents seen:\n  ${seen.join('\n  ')}`, { cause: e });
    }
  }

  /** pool creates (or replaces the spec of) an IPAddressPool in the config namespace. */
  async pool(name: string, spec: PoolSpec, namespace = this.configNs): Promise<void> {
    const body = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name, namespace },
      spec,
    };
    try {
      await this.c.custom.createNamespacedCustomObject({
        group: 'metallb.io',
        version: 'v1beta1',
        namespace,
        plural: 'ipaddresspools',
        body,
      });
    } catch (e) {
      if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
      await this.c.custom.patchNamespacedCustomObject(
        {
          group: 'metallb.io',
          version: 'v1beta1',
          namespace,
          plural: 'ipaddresspools',
          name,
          body: { spec },
        },
        mergePatch,
      );
    }
  }

  /** deletePool deletes an IPAddressPool. */
  async deletePool(name: string, namespace = this.configNs): Promise<void> {
    await this.c.custom.deleteNamespacedCustomObject({
      group: 'metallb.io',
      version: 'v1beta1',
      namespace,
      plural: 'ipaddresspools',
      name,
    });
  }

  /** poolStatus reads an IPAddressPool's status. */
  async poolStatus(name: string, namespace = this.configNs): Promise<PoolStatusView | undefined> {
    const obj = (await this.c.custom.getNamespacedCustomObject({
      group: 'metallb.io',
      version: 'v1beta1',
      namespace,
      plural: 'ipaddresspools',
      name,
    })) as { status?: PoolStatusView };
    return obj.status;
  }

  /** waitPoolStatus waits until the pool's status satisfies pred and returns it. */
  async waitPoolStatus(
    name: string,
    what: string,
    pred: (s: PoolStatusView) => boolean,
    timeoutMs = 30_000,
  ): Promise<PoolStatusView> {
    let last: PoolStatusView | undefined;
    try {
      return await waitFor(
        `IPAddressPool "${this.configNs}/${name}": ${what}`,
        async () => {
          last = await this.poolStatus(name);
          return last && pred(last) ? last : undefined;
        },
        { timeoutMs, intervalMs: 150, log: this.log },
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlast status: ${JSON.stringify(last)}`, { cause: e });
    }
  }
}

/** validCondition returns the Valid condition of a pool status. */
export function validCondition(s: PoolStatusView | undefined): PoolCondition | undefined {
  return s?.conditions?.find((c) => c.type === 'Valid');
}

/** ironlbWhy runs `ironlb why` on Service `name` of env, as an operator would, and returns what it printed. */
export function ironlbWhy(kubeconfig: string, env: TestEnv, name: string): string {
  return run([
    nodeBin,
    join(repoRoot, 'bin/ironlb.ts'),
    'why',
    `${env.ns}/${name}`,
    '--kubeconfig',
    kubeconfig,
    '--namespace',
    env.configNs,
    '--lb-class',
    env.lbClass,
  ]).stdout;
}

/** ConfigCondition is the Valid condition the controller writes on an advertisement or peer. */
export interface ConfigCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/**
 * waitConfigCondition waits until the Valid condition of metallb.io object `name` (of `plural`/`version` in
 * namespace `namespace`) satisfies `want` (what: for the failure message), and returns it.
 */
export function waitConfigCondition(
  c: Clients,
  o: { plural: string; version: string; namespace: string; name: string; log?: string },
  want: (v: ConfigCondition) => boolean,
  what: string,
): Promise<ConfigCondition> {
  const { log, ...ref } = o;
  return waitFor(
    `${o.plural} "${o.name}" ${what}`,
    async () => {
      const obj = (await c.custom.getNamespacedCustomObject({ ...ref, group: 'metallb.io' })) as {
        status?: { conditions?: ConfigCondition[] };
      };
      const v = obj.status?.conditions?.find((x) => x.type === 'Valid');
      return v && want(v) ? v : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 200, ...(log ? { log } : {}) },
  );
}
