// IronLB on the e2e lab's nodes, driven the way an operator would: the speakers are the pods of the DaemonSet
// ironlb-speaker (one per node), killed through the node's containerd (`ctr task kill`, the kubelet restarts
// the container), stopped for good by taking the node out of the DaemonSet (label NO_SPEAKER_LABEL: the
// DaemonSet controller deletes the pod gracefully, SIGTERM first) and brought back by removing the label;
// their logs come from `kubectl logs`, their metrics and plans from their host-network port on the node.
import type { Lab } from '../../harness/netlab.ts';
import { waitFor } from '../../harness/exec.ts';
import {
  COMPONENTS,
  IRONLB_NAMESPACE,
  NO_SPEAKER_LABEL,
  installIronLB,
  labImage,
  listPods,
  waitForPods,
  type PodView,
} from '../../lab/install.ts';
import type { ServiceL2Plan } from '../../../src/announce/l2plan.ts';

/** SPEAKER_METRICS_PORT is the speakers' metrics port (host network: on each node's own addresses). */
export const SPEAKER_METRICS_PORT = 7472;

/** SpeakerPlan is a speaker's /debug/plan answer. */
export interface SpeakerPlan {
  node: string;
  alive: string[];
  services: ServiceL2Plan[];
  conflicts: Record<string, string>;
}

/** speakerPods returns the live speaker pods by node index. */
export async function speakerPods(lab: Lab): Promise<Map<number, PodView>> {
  const pods = await listPods(lab, IRONLB_NAMESPACE, COMPONENTS.speaker.selector);
  return new Map(pods.filter((p) => p.node > 0).map((p) => [p.node, p]));
}

/** speakerPod returns node i's speaker pod; throws when the node has none. */
export async function speakerPod(lab: Lab, i: number): Promise<PodView> {
  const p = (await speakerPods(lab)).get(i);
  if (!p) throw new Error(`No speaker pod on ${lab.node(i).name}`);
  return p;
}

/**
 * ensureIronLB makes sure IronLB is installed and every speaker Ready (the e2e global setup installs it; a
 * test file run alone after a reset installs it again), then waits until every speaker sees every other.
 */
export async function ensureIronLB(lab: Lab, log?: (m: string) => void): Promise<void> {
  const ready = (await speakerPods(lab)).size === lab.state.nodes.length;
  if (!ready) await installIronLB(lab, { log });
  for (const n of lab.state.nodes) await startSpeaker(lab, n.index);
  await waitForMembership(lab);
}

/**
 * killSpeaker sends a signal to the speaker container (not the pod) of node i through the node's containerd,
 * as `kill -9` on the node would; returns the container id that was killed. The kubelet restarts it.
 */
export async function killSpeaker(
  lab: Lab,
  i: number,
  signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL',
): Promise<string> {
  const pod = await speakerPod(lab, i);
  const id = pod.containers.get('speaker')?.id;
  if (!id) throw new Error(`Speaker pod "${pod.name}" on ${pod.nodeName} has no running speaker container`);
  await lab.ctr(i, ['tasks', 'kill', '-s', signal, id]);
  return id;
}

/**
 * waitRestarted waits until the kubelet has started a new speaker container on node i (another container id
 * than `oldId`) and it is Ready; returns the pod.
 */
export async function waitRestarted(
  lab: Lab,
  i: number,
  oldId: string,
  timeoutMs = 60_000,
): Promise<PodView> {
  return waitFor(
    `the kubelet to restart the speaker container on ${lab.node(i).name}`,
    async () => {
      const p = (await speakerPods(lab)).get(i);
      const c = p?.containers.get('speaker');
      return p && c && c.id && c.id !== oldId && c.ready ? p : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/**
 * stopSpeaker takes node i out of the speaker DaemonSet (label NO_SPEAKER_LABEL): the DaemonSet controller
 * deletes its pod, the kubelet sends SIGTERM and the speaker hands its addresses over before it exits.
 * Returns at once; see waitSpeakerGone.
 */
export async function stopSpeaker(lab: Lab, i: number): Promise<void> {
  await lab.kubectl(['label', 'node', lab.node(i).name, `${NO_SPEAKER_LABEL}=true`, '--overwrite']);
}

/** waitSpeakerGone waits until node i's speaker pod is gone (every container exited). */
export async function waitSpeakerGone(lab: Lab, i: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `the speaker pod on ${lab.node(i).name} to be gone`,
    async () => {
      const list = await lab.api.core.listNamespacedPod({
        namespace: IRONLB_NAMESPACE,
        labelSelector: COMPONENTS.speaker.selector,
        fieldSelector: `spec.nodeName=${lab.node(i).name}`,
      });
      return list.items.length === 0;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

/** startSpeaker puts node i back into the speaker DaemonSet and waits until its speaker pod is Ready. */
export async function startSpeaker(lab: Lab, i: number): Promise<PodView> {
  await lab.kubectl(['label', 'node', lab.node(i).name, `${NO_SPEAKER_LABEL}-`]);
  return waitFor(
    `a Ready speaker pod on ${lab.node(i).name}`,
    async () => {
      const p = (await speakerPods(lab)).get(i);
      return p?.ready ? p : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

/**
 * restartSpeaker brings node i's speaker back (after stopSpeaker or a kill), waits until it is Ready and every
 * running speaker sees it alive.
 */
export async function restartSpeaker(lab: Lab, i: number): Promise<void> {
  await startSpeaker(lab, i);
  await waitForMembership(lab);
}

/**
 * speakerLog returns node i's speaker log (`kubectl logs`, the previous container's first when it was
 * restarted); '' when there is no such pod.
 */
export async function speakerLog(lab: Lab, i: number, tail = 200): Promise<string> {
  const pod = (await speakerPods(lab)).get(i);
  if (!pod) return '';
  const logs = async (extra: string[]) =>
    lab
      .kubectl(['logs', '-n', IRONLB_NAMESPACE, pod.name, '-c', 'speaker', `--tail=${tail}`, ...extra])
      .catch(() => '');
  const previous = (pod.containers.get('speaker')?.restarts ?? 0) > 0 ? await logs(['--previous']) : '';
  return `${previous}${await logs([])}`;
}

/** speakerGet fetches a path of node i's speaker on its host-network metrics port; undefined when it does not answer. */
async function speakerGet(lab: Lab, i: number, path: string): Promise<string | undefined> {
  const r = await lab.exec(
    `node-${i}`,
    ['curl', '-s', '-m', '2', `http://127.0.0.1:${SPEAKER_METRICS_PORT}${path}`],
    { check: false, timeoutMs: 5000 },
  );
  return r.code === 0 && r.stdout ? r.stdout : undefined;
}

/** speakerPlan asks node i's speaker for its plan; undefined when it does not answer. */
export async function speakerPlan(lab: Lab, i: number): Promise<SpeakerPlan | undefined> {
  const text = await speakerGet(lab, i, '/debug/plan');
  try {
    return text ? (JSON.parse(text) as SpeakerPlan) : undefined;
  } catch {
    return undefined;
  }
}

/** speakerMetrics returns node i's speaker's /metrics text ('' when it does not answer). */
export async function speakerMetrics(lab: Lab, i: number): Promise<string> {
  return (await speakerGet(lab, i, '/metrics')) ?? '';
}

/**
 * waitForMembership waits until every Ready speaker sees exactly the Ready speakers alive (a restarted speaker
 * has rejoined everywhere, a stopped one is gone everywhere).
 */
export async function waitForMembership(lab: Lab, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    'every running speaker to see the running speakers alive',
    async () => {
      const pods = [...(await speakerPods(lab)).values()].filter((p) => p.ready);
      const want = JSON.stringify(pods.map((p) => p.nodeName).sort());
      for (const p of pods) {
        const plan = await speakerPlan(lab, p.node);
        if (!plan || JSON.stringify([...plan.alive].sort()) !== want) return false;
      }
      return true;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** waitSpeakersReady waits until every node (but those in `except`) has a Ready speaker pod. */
export async function waitSpeakersReady(lab: Lab, log?: (m: string) => void): Promise<PodView[]> {
  return waitForPods(lab, {
    namespace: IRONLB_NAMESPACE,
    selector: COMPONENTS.speaker.selector,
    what: `daemonset ${COMPONENTS.speaker.name}`,
    log,
  });
}

/**
 * rollSpeakers tags IronLB's image anew in every node's containerd (as a release would arrive), sets the speaker
 * DaemonSet's containers to that tag and waits until every pod runs it and is Ready; returns the new image.
 */
export async function rollSpeakers(lab: Lab, tag: string): Promise<string> {
  const image = labImage(lab, 'ironlb');
  const next = `${image.slice(0, image.lastIndexOf(':'))}:${tag}`;
  for (const n of lab.state.nodes) await lab.ctr(n.index, ['images', 'tag', '--force', image, next]);
  await lab.kubectl([
    '-n',
    IRONLB_NAMESPACE,
    'set',
    'image',
    `daemonset/${COMPONENTS.speaker.name}`,
    `speaker=${next}`,
    `gobgpd=${next}`,
  ]);
  await waitFor(
    'every speaker pod to run the new tag and be Ready',
    async () => {
      const list = await lab.api.core.listNamespacedPod({
        namespace: IRONLB_NAMESPACE,
        labelSelector: COMPONENTS.speaker.selector,
      });
      const done = list.items.filter(
        (p) =>
          !p.metadata?.deletionTimestamp &&
          p.spec?.containers.every((c) => c.image === next) &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return done.length === lab.state.nodes.length && list.items.length === lab.state.nodes.length;
    },
    { timeoutMs: 180_000, intervalMs: 250 },
  );
  return next;
}
