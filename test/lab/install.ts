// IronLB installed on the lab the way a user installs it: `kubectl apply --server-side -k` of the lab overlay
// (test/lab/overlay = deploy/ + the image built here + the bfd component) through a small generated
// kustomization that pins the image's content tag and adds the speakers' liveness key (Secret
// ironlb-liveness); then, once the webhook admits writes, the lab's configuration (test/lab/overlay/config).
// Waiting watches the pods and gives up within seconds, naming the pod and why, when one cannot start (a
// missing image, a crash loop, a denied API call in its log) rather than running into a timeout.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { Lab } from '../harness/netlab.ts';
import { runAsync } from '../harness/exec.ts';
import { k8sBin, repoRoot } from '../harness/paths.ts';

/** IRONLB_NAMESPACE is where deploy/ installs IronLB and where the lab keeps its metallb.io objects. */
export const IRONLB_NAMESPACE = 'ironlb-system';
/** OVERLAY_DIR is the lab's kustomize overlay on top of deploy/. */
export const OVERLAY_DIR = join(repoRoot, 'test/lab/overlay');
/** CONFIG_DIR holds the lab's pools, advertisements, BFD profile and BGP peers (a kustomization). */
export const CONFIG_DIR = join(OVERLAY_DIR, 'config');
/** NO_SPEAKER_LABEL on a Node makes the lab overlay's speaker DaemonSet leave that node (see stopSpeaker). */
export const NO_SPEAKER_LABEL = 'lab.ironlb.io/no-speaker';

/** COMPONENTS are IronLB's workloads as deploy/ names them, with their pods' label selectors. */
export const COMPONENTS = {
  controller: { kind: 'deployment', name: 'ironlb-controller', selector: selectorOf('controller') },
  speaker: { kind: 'daemonset', name: 'ironlb-speaker', selector: selectorOf('speaker') },
  ingress: { kind: 'deployment', name: 'ironlb-ingress', selector: selectorOf('ingress') },
} as const;

/** Component names one of IronLB's workloads. */
export type Component = keyof typeof COMPONENTS;

function selectorOf(component: string): string {
  return `app.kubernetes.io/name=ironlb,app.kubernetes.io/component=${component}`;
}

/** labPools returns the lab's metallb.io configuration (and the BGP password Secret) as objects, from CONFIG_DIR. */
export function labPools(): object[] {
  return readdirSync(CONFIG_DIR)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(CONFIG_DIR, f), 'utf8'))
        .map((d) => d.toJS() as object | null)
        .filter((o): o is object => o !== null),
    );
}

/** labLivenessKey is the lab's shared heartbeat key: stable for one lab (restarted speakers agree), unique per lab. */
export function labLivenessKey(lab: Lab): string {
  return createHash('sha256').update(`ironlb-lab#${lab.state.dir}#${lab.state.prefix}`).digest('hex');
}

/**
 * labImage returns the reference of a lab image ("ironlb", "ironlb-echo") the lab imported into its nodes:
 * the content-tagged one when the lab recorded it, else `localhost/<name>:latest`.
 */
export function labImage(lab: Lab, name: string): string {
  const images = (lab.state as { images?: { ref: string }[] }).images ?? [];
  const tagged = images
    .map((i) => i.ref)
    .filter((r) => r.startsWith(`localhost/${name}:`) && !r.endsWith(':latest'));
  return tagged[0] ?? `localhost/${name}:latest`;
}

/**
 * writeInstallKustomization writes `<lab dir>/install/kustomization.yaml`: the overlay, the image tag, and
 * the liveness Secret. Returns the directory (what `kubectl apply -k` takes).
 */
export function writeInstallKustomization(lab: Lab, options: { image?: string } = {}): string {
  const dir = join(lab.state.dir, 'install');
  mkdirSync(dir, { recursive: true });
  const image = options.image ?? labImage(lab, 'ironlb');
  const at = image.lastIndexOf(':');
  const k = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [relative(dir, OVERLAY_DIR)],
    images: [{ name: 'localhost/ironlb', newName: image.slice(0, at), newTag: image.slice(at + 1) }],
    secretGenerator: [
      {
        name: 'ironlb-liveness',
        namespace: IRONLB_NAMESPACE,
        literals: [`key=${labLivenessKey(lab)}`],
        options: { disableNameSuffixHash: true },
      },
    ],
  };
  writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(k, null, 2) + '\n');
  return dir;
}

/** kubectlApplyK applies a kustomization directory server-side, as the README tells users to. */
export async function kubectlApplyK(lab: Lab, dir: string): Promise<string> {
  return lab.kubectl(['apply', '--server-side', '--force-conflicts', '-k', dir]);
}

/** PodView is a running pod as the tests need it: where it runs, its addresses, its containers. */
export interface PodView {
  namespace: string;
  name: string;
  uid: string;
  /** node is the 1-based index of the lab node it runs on (0 when unscheduled). */
  node: number;
  nodeName: string;
  ips: string[];
  ready: boolean;
  /** containers by name: containerd id (without "containerd://"), restarts, ready. */
  containers: Map<string, { id: string; restarts: number; ready: boolean }>;
  labels: Record<string, string>;
}

/** podView boils a Pod down to a PodView. */
export function podView(lab: Lab, pod: k8s.V1Pod): PodView {
  const nodeName = pod.spec?.nodeName ?? '';
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    node: lab.state.nodes.find((n) => n.name === nodeName)?.index ?? 0,
    nodeName,
    ips: (pod.status?.podIPs ?? []).map((p) => p.ip ?? '').filter(Boolean),
    ready: (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    containers: new Map(
      (pod.status?.containerStatuses ?? []).map((c) => [
        c.name,
        { id: (c.containerID ?? '').replace(/^\w+:\/\//, ''), restarts: c.restartCount, ready: c.ready },
      ]),
    ),
    labels: pod.metadata?.labels ?? {},
  };
}

/** listPods lists the pods matching a label selector (terminating ones left out), as PodViews. */
export async function listPods(lab: Lab, namespace: string, selector: string): Promise<PodView[]> {
  const list = await lab.api.core.listNamespacedPod({ namespace, labelSelector: selector });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => podView(lab, p));
}

/** WAITING_FATAL are container waiting reasons that never clear up by themselves in the lab (no registry). */
const WAITING_FATAL = new Set([
  'ErrImageNeverPull',
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/**
 * podProblem says why a pod cannot start, or undefined while it may still: a container waiting for a reason
 * that does not clear up by itself (a missing image, a crash loop, a bad configuration), or an unschedulable
 * pod. Pure: reads the Pod only.
 */
export function podProblem(pod: k8s.V1Pod): string | undefined {
  const name = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    // a container of a pod that is not Ready yet that failed: it is starting in a loop (the kubelet backs off)
    const t = c.state?.terminated;
    if (t && t.exitCode !== 0 && !c.ready)
      return `Pod "${name}" container "${c.name}" exited ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${
        t.message ? `: ${t.message.trim().slice(0, 300)}` : ''
      }; the kubelet restarts it (${c.restartCount} restarts so far)`;
    const w = c.state?.waiting;
    if (w?.reason && WAITING_FATAL.has(w.reason)) {
      const last = c.lastState?.terminated;
      const exit = last ? ` (last exit ${last.exitCode}${last.reason ? ` ${last.reason}` : ''})` : '';
      return `Pod "${name}" container "${c.name}": ${w.reason}${exit}${w.message ? `: ${w.message}` : ''}`;
    }
  }
  const unschedulable = (pod.status?.conditions ?? []).find(
    (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
  );
  if (unschedulable) return `Pod "${name}" cannot be scheduled: ${unschedulable.message ?? ''}`;
  return undefined;
}

/** DENIED matches what an API client logs when RBAC refuses it. */
const DENIED = /forbidden|cannot (?:list|watch|get|create|update|patch|delete) resource/i;

/** PodStartError is thrown by waitForPods when a pod cannot start; its message names the pod and the reason. */
export class PodStartError extends Error {
  readonly code = 'PodStartError';
}

/**
 * waitForPods waits until `count` pods matching `selector` are Ready (every node's for a DaemonSet when count
 * is omitted) and returns them. It logs each pod's progress once per change, and throws a PodStartError as
 * soon as a pod cannot start (podProblem), or when a running but unready container's log shows a denied
 * API call, with the namespace's recent Warning Events in the message.
 */
export async function waitForPods(
  lab: Lab,
  options: {
    namespace: string;
    selector: string;
    count?: number;
    what: string;
    /** workload: also wait until its rollout is complete (every pod of the current template, none older). */
    workload?: { kind: string; name: string };
    timeoutMs?: number;
    log?: (m: string) => void;
  },
): Promise<PodView[]> {
  const log = options.log ?? (() => {});
  const want = options.count ?? lab.state.nodes.length;
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  const said = new Map<string, string>();
  const checkedLogs = new Map<string, number>();
  let last = '';
  while (Date.now() < deadline) {
    const list = await lab.api.core.listNamespacedPod({
      namespace: options.namespace,
      labelSelector: options.selector,
    });
    const pods = list.items.filter((p) => !p.metadata?.deletionTimestamp);
    for (const p of pods) {
      const line = podLine(p);
      if (said.get(p.metadata?.name ?? '') !== line) {
        said.set(p.metadata?.name ?? '', line);
        log(`lab: ${options.what}: ${line}`);
      }
      const problem = podProblem(p);
      if (problem) throw new PodStartError(`${problem}${await warningEvents(lab, options.namespace)}`);
      // a running container that stays unready for a few seconds: look for a denied API call in its log
      const views = podView(lab, p);
      if (!views.ready && p.status?.phase === 'Running') {
        const since = checkedLogs.get(views.name) ?? Date.now();
        checkedLogs.set(views.name, since);
        if (Date.now() - since > 5_000) {
          for (const c of p.status?.containerStatuses ?? []) {
            if (c.ready || !c.state?.running) continue;
            const text = await lab
              .kubectl(['logs', '-n', options.namespace, views.name, '-c', c.name, '--tail=50'])
              .catch(() => '');
            const denied = text.split('\n').find((l) => DENIED.test(l));
            if (denied)
              throw new PodStartError(
                `Pod "${options.namespace}/${views.name}" container "${c.name}" is not ready: the API server ` +
                  `refuses it (RBAC): ${denied.trim().slice(0, 400)}`,
              );
          }
        }
      }
    }
    const ready = pods.filter((p) => podView(lab, p).ready);
    last = `${ready.length}/${want} Ready (${pods.map(podLine).join('; ') || 'no pods yet'})`;
    const rolled = options.workload ? await rolloutComplete(lab, options.namespace, options.workload) : true;
    if (ready.length >= want && rolled) return ready.map((p) => podView(lab, p));
    await sleep(500);
  }
  throw new PodStartError(
    `Timed out waiting for ${options.what}: ${last}${await warningEvents(lab, options.namespace)}`,
  );
}

/**
 * rolloutComplete tells whether a Deployment's or DaemonSet's rollout is complete, as `kubectl rollout status`
 * judges it: the controller saw the latest spec, every replica runs the current template and is available.
 */
export async function rolloutComplete(
  lab: Lab,
  namespace: string,
  workload: { kind: string; name: string },
): Promise<boolean> {
  const w = JSON.parse(
    await lab.kubectl(['get', workload.kind, workload.name, '-n', namespace, '-o', 'json']),
  ) as { metadata: { generation?: number }; spec: { replicas?: number }; status?: Record<string, number> };
  const st = w.status ?? {};
  if ((st.observedGeneration ?? 0) < (w.metadata.generation ?? 0)) return false;
  if (workload.kind.toLowerCase() === 'daemonset') {
    const want = st.desiredNumberScheduled ?? 0;
    return st.updatedNumberScheduled === want && st.numberAvailable === want;
  }
  const want = w.spec.replicas ?? 1;
  return st.updatedReplicas === want && st.replicas === want && st.availableReplicas === want;
}

/** podLine is one pod's state in a few words: "name on node: Running, Ready (2 restarts)". */
function podLine(p: k8s.V1Pod): string {
  const statuses = p.status?.containerStatuses ?? [];
  const waiting = statuses.map((c) => c.state?.waiting?.reason).find(Boolean);
  const restarts = statuses.reduce((s, c) => s + c.restartCount, 0);
  const ready = (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  return (
    `${p.metadata?.name} on ${p.spec?.nodeName ?? '(unscheduled)'}: ${waiting ?? p.status?.phase ?? 'Pending'}` +
    `${ready ? ', Ready' : ''}${restarts ? ` (${restarts} restarts)` : ''}`
  );
}

/** warningEvents returns the namespace's last Warning Events as indented lines ('' when none). */
export async function warningEvents(lab: Lab, namespace: string, max = 8): Promise<string> {
  try {
    const list = await lab.api.core.listNamespacedEvent({ namespace, fieldSelector: 'type=Warning' });
    const time = (e: k8s.CoreV1Event) =>
      new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
    const lines = list.items
      .sort((a, b) => time(a) - time(b))
      .slice(-max)
      .map(
        (e) =>
          `\n    ${e.involvedObject.kind}/${e.involvedObject.name}: ${e.reason}: ${(e.message ?? '').trim()}`,
      );
    return lines.length ? `\n  Warning Events in "${namespace}":${lines.join('')}` : '';
  } catch {
    return '';
  }
}

/** InstallOptions: which image, how long to wait, and where progress goes. */
export interface InstallOptions {
  image?: string;
  timeoutMs?: number;
  log?: (m: string) => void;
  /** components to wait for (default all three). */
  wait?: Component[];
}

/**
 * installIronLB applies the lab overlay (`kubectl apply --server-side -k`), waits for the controller,
 * speakers and ingress to be Ready, then applies the lab's configuration once the webhook admits it.
 */
export async function installIronLB(lab: Lab, options: InstallOptions = {}): Promise<void> {
  const log = options.log ?? (() => {});
  const dir = writeInstallKustomization(lab, { image: options.image });
  const image = options.image ?? labImage(lab, 'ironlb');
  log(
    `lab: kubectl apply --server-side -k ${relative(repoRoot, dir)} (test/lab/overlay on deploy/, ${image})`,
  );
  await kubectlApplyK(lab, dir);
  await waitForIronLB(lab, options);
  await applyLabConfig(lab, { log, timeoutMs: options.timeoutMs });
}

/** waitForIronLB waits for IronLB's workloads to be Ready (see waitForPods), controller first. */
export async function waitForIronLB(lab: Lab, options: InstallOptions = {}): Promise<void> {
  const which = options.wait ?? ['controller', 'speaker', 'ingress'];
  const count: Record<Component, number> = { controller: 2, speaker: lab.state.nodes.length, ingress: 2 };
  for (const c of which) {
    await waitForPods(lab, {
      namespace: IRONLB_NAMESPACE,
      selector: COMPONENTS[c].selector,
      count: count[c],
      what: `${COMPONENTS[c].kind} ${COMPONENTS[c].name}`,
      workload: COMPONENTS[c],
      timeoutMs: options.timeoutMs,
      log: options.log,
    });
  }
}

/**
 * applyLabConfig applies test/lab/overlay/config, retrying while the webhook cannot be reached yet (its
 * certificate is written by the first controller; failurePolicy Fail refuses writes until then).
 */
export async function applyLabConfig(
  lab: Lab,
  options: { log?: (m: string) => void; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    try {
      await kubectlApplyK(lab, CONFIG_DIR);
      options.log?.(`lab: configuration applied (kubectl apply -k ${relative(repoRoot, CONFIG_DIR)})`);
      return;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      // a refusal by the webhook itself is an answer, not a wait
      if (
        !/failed calling webhook|connection refused|no endpoints available|x509|context deadline/i.test(msg)
      )
        throw e;
      if (Date.now() > deadline)
        throw new Error(`The IronLB webhook did not admit the lab configuration in time: ${msg}`, {
          cause: e,
        });
      await sleep(1000);
    }
  }
}

/**
 * demonstrateWebhook applies a pool overlapping the lab's L2 pool and returns what the API server answered:
 * the webhook's refusal (or, if it was admitted, says so and deletes it again).
 */
export async function demonstrateWebhook(lab: Lab): Promise<string> {
  const pool = {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: 'lab-overlap', namespace: IRONLB_NAMESPACE },
    spec: { addresses: ['192.0.2.240/28'] },
  };
  const r = await runAsync(
    [k8sBin('kubectl'), `--kubeconfig=${lab.state.hostKubeconfig}`, 'apply', '-f', '-'],
    { input: JSON.stringify(pool), check: false },
  );
  if (r.code === 0) {
    await lab.kubectl([
      'delete',
      'ipaddresspool',
      '-n',
      IRONLB_NAMESPACE,
      'lab-overlap',
      '--ignore-not-found',
    ]);
    return `an overlapping IPAddressPool (192.0.2.240/28) was ADMITTED: the webhook did not refuse it`;
  }
  return `kubectl apply of an overlapping IPAddressPool (192.0.2.240/28) → ${r.stderr.trim()}`;
}
