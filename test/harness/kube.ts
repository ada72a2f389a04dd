// Kubernetes client helpers for the harness: load a kubeconfig, create Nodes and Pods the way a kubelet
// would report them (status written through the status subresource), wait for objects.
import * as k8s from '@kubernetes/client-node';
import { waitFor } from './exec.ts';

/** Clients bundles the typed API clients the harness and tests use. */
export interface Clients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  discovery: k8s.DiscoveryV1Api;
  coordination: k8s.CoordinationV1Api;
  networking: k8s.NetworkingV1Api;
  custom: k8s.CustomObjectsApi;
  objects: k8s.KubernetesObjectApi;
}

/** clients loads kubeconfigPath and returns the API clients. */
export function clients(kubeconfigPath: string): Clients {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    discovery: kc.makeApiClient(k8s.DiscoveryV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    networking: kc.makeApiClient(k8s.NetworkingV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
  };
}

/** mergePatch is the request option that makes a patch call a JSON merge patch. */
export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** isNotFound reports whether an API error is a 404. */
export function isNotFound(e: unknown): boolean {
  return e instanceof k8s.ApiException && e.code === 404;
}

/** NodeSpec describes a lab node as the kubelet would register it. */
export interface NodeSpec {
  name: string;
  addresses: string[];
  podCIDRs: string[];
  labels?: Record<string, string>;
}

/** registerNode creates (or updates) a Node and writes a Ready status with its InternalIP addresses. */
export async function registerNode(c: Clients, spec: NodeSpec): Promise<void> {
  const labels = { 'kubernetes.io/hostname': spec.name, 'kubernetes.io/os': 'linux', ...(spec.labels ?? {}) };
  try {
    await c.core.createNode({
      body: {
        metadata: { name: spec.name, labels },
        spec: { podCIDR: spec.podCIDRs[0], podCIDRs: spec.podCIDRs },
      },
    });
  } catch (e) {
    if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
  }
  const now = new Date();
  await c.core.patchNodeStatus(
    {
      name: spec.name,
      body: {
        status: {
          addresses: [
            ...spec.addresses.map((a) => ({ type: 'InternalIP', address: a })),
            { type: 'Hostname', address: spec.name },
          ],
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'lab node (network namespace)',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
            {
              type: 'NetworkUnavailable',
              status: 'False',
              reason: 'RouteCreated',
              message: 'lab routes',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
          nodeInfo: {
            architecture: 'amd64',
            bootID: '',
            containerRuntimeVersion: 'netns://lab',
            kernelVersion: '',
            kubeProxyVersion: '',
            kubeletVersion: 'v1.35.4',
            machineID: '',
            operatingSystem: 'linux',
            osImage: 'IronLB lab',
            systemUUID: '',
          },
        },
      },
    },
    mergePatch,
  );
}

/** PodSpec describes a lab pod: a process in its own network namespace on a node. */
export interface PodSpec {
  namespace: string;
  name: string;
  node: string;
  hostIP: string;
  podIPs: string[];
  labels: Record<string, string>;
  containerPort: number;
}

/** createReadyPod creates a Pod bound to its node and marks it Running and Ready through the status subresource. */
export async function createReadyPod(c: Clients, p: PodSpec): Promise<void> {
  await c.core.createNamespacedPod({
    namespace: p.namespace,
    body: {
      metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
      spec: {
        nodeName: p.node,
        containers: [
          {
            name: 'app',
            image: 'ironlb.local/lab-process:latest',
            ports: [{ containerPort: p.containerPort, protocol: 'TCP' }],
          },
        ],
      },
    },
  });
  await setPodReady(c, p, true);
}

/** setPodReady writes the Pod's status as a kubelet would: Running with podIPs, Ready true or false. */
export async function setPodReady(c: Clients, p: PodSpec, ready: boolean): Promise<void> {
  const now = new Date();
  const cond = (type: string, status: boolean) => ({
    type,
    status: status ? 'True' : 'False',
    lastTransitionTime: now,
  });
  await c.core.patchNamespacedPodStatus(
    {
      name: p.name,
      namespace: p.namespace,
      body: {
        status: {
          phase: 'Running',
          hostIP: p.hostIP,
          hostIPs: [{ ip: p.hostIP }],
          podIP: p.podIPs[0],
          podIPs: p.podIPs.map((ip) => ({ ip })),
          startTime: now,
          conditions: [
            cond('PodScheduled', true),
            cond('Initialized', true),
            cond('ContainersReady', ready),
            cond('Ready', ready),
          ],
          containerStatuses: [
            {
              name: 'app',
              ready,
              started: true,
              restartCount: 0,
              image: 'ironlb.local/lab-process:latest',
              imageID: '',
              state: { running: { startedAt: now } },
            },
          ],
        },
      },
    },
    mergePatch,
  );
}

/** ensureNamespace creates a namespace if it does not exist. */
export async function ensureNamespace(
  c: Clients,
  name: string,
  labels?: Record<string, string>,
): Promise<void> {
  try {
    await c.core.createNamespace({ body: { metadata: { name, labels } } });
  } catch (e) {
    if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
  }
}

/** waitForEndpoints waits until the Service's EndpointSlices list at least n ready addresses. */
export async function waitForEndpoints(
  c: Clients,
  namespace: string,
  service: string,
  n: number,
  timeoutMs = 30_000,
): Promise<string[]> {
  return waitFor(
    `${n} ready endpoints of service "${namespace}/${service}"`,
    async () => {
      const list = await c.discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: `kubernetes.io/service-name=${service}`,
      });
      const ready = list.items.flatMap((s) =>
        (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses),
      );
      return ready.length >= n ? ready : undefined;
    },
    { timeoutMs },
  );
}

/** createPool creates an IPAddressPool with these addresses (benchmarks and scripts that need just one). */
export async function createPool(
  c: Clients,
  namespace: string,
  name: string,
  addresses: string[],
): Promise<void> {
  await c.custom.createNamespacedCustomObject({
    group: 'metallb.io',
    version: 'v1beta1',
    namespace,
    plural: 'ipaddresspools',
    body: {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name, namespace },
      spec: { addresses },
    },
  });
}
