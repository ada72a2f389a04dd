// IronLB on real nodes, the Kubernetes way: a node lost by its cable (the address moves at once; the node
// lifecycle controller then marks the node NotReady and its pods' endpoints not ready), `kill -9` of a speaker
// container (the kubelet restarts it; only that node's addresses move), rolling updates of the speaker
// DaemonSet and the controller Deployment under a client sending every 10 ms, and what a user sees when a pod
// cannot start (a missing image, a crash loop, an RBAC denial): in `kubectl get pods`, in Events and in the
// lab's own output within seconds. Each test prints its figures ("nodes e2e: ..."); none gates on time.
//
// Run: IRONLB_E2E_PREFIX=ironlb-nodes- IRONLB_E2E_API_PORT=16481 npx vitest run --project e2e test/e2e/nodes.test.ts
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LAB, Lab } from '../harness/netlab.ts';
import { waitFor } from '../harness/exec.ts';
import { waitForEndpoints } from '../harness/kube.ts';
import { runEcho } from '../lab/deploy.ts';
import {
  COMPONENTS,
  IRONLB_NAMESPACE,
  PodStartError,
  kubectlApplyK,
  waitForIronLB,
  waitForPods,
  writeInstallKustomization,
} from '../lab/install.ts';
import {
  NeighbourMonitor,
  Prober,
  failureWindow,
  nodeOfMac,
  resolvedMac,
  serviceEndpoints,
  serviceIPs,
  setCable,
  stableAnnouncer,
  urlOf,
  type FailureWindow,
} from './support/l2.ts';
import {
  ensureIronLB,
  killSpeaker,
  rollSpeakers,
  speakerPlan,
  speakerPods,
  waitForMembership,
  waitRestarted,
} from './support/ironlb.ts';

const lab = Lab.attach(inject('labDir'));
const NS = 'nodes-e2e';
const log = (m: string) => console.log(`nodes e2e: ${m}`);
const now = () => performance.timeOrigin + performance.now();
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const cleanups: (() => Promise<void>)[] = [];
/** kubectlLB runs kubectl in IronLB's namespace. */
const kubectlLB = (...args: string[]) => lab.kubectl(['-n', IRONLB_NAMESPACE, ...args]);

async function createService(name: string, spec: object): Promise<void> {
  await lab.api.core.createNamespacedService({
    namespace: NS,
    body: {
      metadata: { name, namespace: NS },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'nodes-echo' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
        ...spec,
      },
    },
  });
}

/** owners maps every L2 address some speaker announces to the announcing node's index (from /debug/plan). */
async function owners(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const n of lab.state.nodes) {
    const plan = await speakerPlan(lab, n.index);
    for (const s of plan?.services ?? [])
      if (s.decision.announce) for (const ip of s.ips) out.set(ip, n.index);
  }
  return out;
}

/** serviceAddresses maps every LoadBalancer Service to its addresses. */
async function serviceAddresses(): Promise<Map<string, string>> {
  const list = await lab.api.core.listServiceForAllNamespaces();
  return new Map(
    list.items
      .filter((s) => s.spec?.type === 'LoadBalancer')
      .map((s) => [
        `${s.metadata?.namespace}/${s.metadata?.name}`,
        (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(','),
      ]),
  );
}

const describeWindow = (w: FailureWindow) =>
  `${w.failed}/${w.sent} requests failed` + (w.failed ? ` (window ${w.windowMs.toFixed(0)} ms)` : '');

describe('IronLB on real nodes', () => {
  let clusterIP = '';
  let localIP = '';

  beforeAll(async () => {
    await ensureIronLB(lab, log);
    await runEcho(lab, {
      name: 'echo',
      namespace: NS,
      replicas: lab.state.nodes.length,
      labels: { app: 'nodes-echo' },
      log,
    });
    await createService('cluster', {});
    await createService('local', { externalTrafficPolicy: 'Local' });
    await waitForEndpoints(lab.api, NS, 'cluster', lab.state.nodes.length);
    [clusterIP = ''] = await serviceIPs(lab, NS, 'cluster');
    [localIP = ''] = await serviceIPs(lab, NS, 'local');
    log(`Services "${NS}/cluster" (ETP Cluster) at ${clusterIP}, "${NS}/local" (ETP Local) at ${localIP}`);
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => log(`cleanup: ${String(e)}`));
    await lab.kubectl(['delete', 'namespace', NS, '--wait=false']).catch(() => '');
  });

  it.each([
    ['cluster', 'ETP Cluster'],
    ['local', 'ETP Local'],
  ] as const)(
    'node loss by pulled cable (%s): the address moves at once, the node goes NotReady and its endpoints leave within the grace period',
    async (svc, what) => {
      const ip = svc === 'cluster' ? clusterIP : localIP;
      const key = `${NS}/${svc}`;
      const owner = await stableAnnouncer(lab, key);
      const node = lab.node(owner).name;
      const mon = new NeighbourMonitor(lab, 'client');
      const prober = new Prober(lab, 'client', urlOf(ip), { intervalMs: 10, timeoutMs: 250 });
      cleanups.push(async () => {
        await prober.stop();
        await mon.stop();
      });
      await prober.waitOk(50);
      await waitFor(
        `the client to resolve ${ip} to ${node}`,
        async () => (await resolvedMac(lab, 'client', ip)) === lab.node(owner).mac.toLowerCase(),
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      const from = now();
      await setCable(lab, owner, false);
      const plug = async () => {
        await setCable(lab, owner, true);
        await waitFor(
          `${node} Ready again`,
          async () =>
            (await lab.api.core.readNode({ name: node })).status?.conditions?.some(
              (c) => c.type === 'Ready' && c.status === 'True',
            ),
          { timeoutMs: 90_000, intervalMs: 250 },
        );
        await waitForMembership(lab);
      };
      cleanups.push(plug);
      try {
        const moved = await waitFor(
          `the client's entry for ${ip} to move off ${node}`,
          () => mon.firstChange(ip, lab.node(owner).mac, from),
          { timeoutMs: 10_000, intervalMs: 5 },
        );
        const movedMs = moved.t - from;
        const notReadyMs = await waitFor(
          `${node} to be NotReady`,
          async () => {
            const n = await lab.api.core.readNode({ name: node });
            const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
            return ready && ready.status !== 'True' ? now() - from : undefined;
          },
          { timeoutMs: 90_000, intervalMs: 100 },
        );
        const endpointsMs = await waitFor(
          `the endpoints on ${node} to leave the EndpointSlices of "${key}"`,
          async () => {
            const onNode = (await serviceEndpoints(lab, NS, svc)).filter(
              (e) => e.nodeName === node && e.conditions?.ready !== false,
            );
            return onNode.length === 0 ? now() - from : undefined;
          },
          { timeoutMs: 90_000, intervalMs: 100 },
        );
        // let kube-proxy on the announcing node catch up, then count
        await new Promise((r) => setTimeout(r, 2_000));
        const records = await prober.stop();
        const untilGone = failureWindow(records, from - 20, from + endpointsMs);
        const after = failureWindow(records, from + endpointsMs + 1_000, now());
        const heir = nodeOfMac(lab, moved.lladdr);
        log(
          `${what}: cable of ${node} pulled → the client's entry moved to ${lab.node(heir ?? 0).name} in ` +
            `${movedMs.toFixed(0)} ms; Node NotReady after ${secs(notReadyMs)}, its endpoints out of the ` +
            `EndpointSlices after ${secs(endpointsMs)} (grace period ${LAB.nodeGracePeriod}); ` +
            `10 ms client until then: ${describeWindow(untilGone)}; afterwards: ${describeWindow(after)}`,
        );
        expect(heir).toBeDefined();
        expect(heir).not.toBe(owner);
      } finally {
        await cleanups.pop()?.(); // plug the cable back in
        await cleanups.pop()?.(); // stop prober and monitor
      }
    },
  );

  it('kill -9 of a speaker container: the kubelet restarts it, and only that node’s addresses move', async () => {
    const owner = await stableAnnouncer(lab, `${NS}/cluster`);
    const before = await owners();
    const pod = (await speakerPods(lab)).get(owner);
    const restarts = pod?.containers.get('speaker')?.restarts ?? 0;
    const t0 = performance.now();
    const id = await killSpeaker(lab, owner, 'SIGKILL');
    // while it is down: every address of the dead speaker moves, none of the others
    const during = await waitFor(
      `the addresses of ${lab.node(owner).name} to move`,
      async () => {
        const o = await owners();
        return [...before].every(([ip, n]) => n !== owner || (o.get(ip) ?? owner) !== owner) ? o : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const movedMs = performance.now() - t0;
    const needless = [...before].filter(([ip, n]) => n !== owner && during.get(ip) !== n);
    const back = await waitRestarted(lab, owner, id);
    const restartedMs = performance.now() - t0;
    await waitForMembership(lab);
    const rejoinedMs = performance.now() - t0;
    const after = await waitFor(
      'the election to settle',
      async () => {
        const o = await owners();
        return [...before].every(([ip]) => o.has(ip)) ? o : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const changed = [...before].filter(([ip, n]) => after.get(ip) !== n);
    log(
      `kill -9 of the speaker container on ${lab.node(owner).name}: its ${[...before.values()].filter((n) => n === owner).length} ` +
        `addresses moved in ${movedMs.toFixed(0)} ms, ${needless.length} others moved; the kubelet restarted it ` +
        `(restart count ${restarts} → ${back.containers.get('speaker')?.restarts}) Ready after ${secs(restartedMs)}, ` +
        `in every speaker's membership after ${secs(rejoinedMs)}; ${changed.length} addresses end on another node than before`,
    );
    expect(back.containers.get('speaker')?.restarts).toBeGreaterThan(restarts);
    expect(needless.map(([ip]) => ip)).toEqual([]);
    expect(changed.map(([ip]) => ip)).toEqual([]);
  });

  it('rolling update of the speaker DaemonSet to a new image tag: the failed requests of a 10 ms client (target 0)', async () => {
    const addresses = await serviceAddresses();
    const prober = new Prober(lab, 'client', urlOf(clusterIP), { intervalMs: 10, timeoutMs: 1000 });
    cleanups.push(async () => void (await prober.stop()));
    await prober.waitOk(50);
    const from = now();
    const next = await rollSpeakers(lab, `rollout-${Date.now().toString(36)}`);
    const rolledMs = now() - from;
    await waitForMembership(lab);
    await new Promise((r) => setTimeout(r, 2_000));
    const records = (await cleanups.pop()?.(), prober.records);
    const w = failureWindow(records, from - 20, now());
    const failed = records
      .filter((r) => r.t >= from - 20 && !r.ok)
      .map((r) => `${(r.t - from).toFixed(0)} ms: ${r.err ?? r.status}`);
    // the target is 0 failed requests; measured so far: a few in one short burst per rollout (see the report)
    log(
      `speaker DaemonSet rolled to ${next} (maxUnavailable 1, terminationGracePeriodSeconds 15) in ${secs(rolledMs)}: ` +
        `10 ms client (1 s timeout) to "${NS}/cluster": ${describeWindow(w)} (target 0)` +
        (failed.length ? `: ${failed.join(', ')}` : ''),
    );
    expect(await serviceAddresses()).toEqual(addresses);
    expect(w.sent).toBeGreaterThan(100);
  });

  it('rollout of the controller Deployment: no Service changes address, and the new controller allocates', async () => {
    const addresses = await serviceAddresses();
    const from = now();
    await kubectlLB('rollout', 'restart', `deployment/${COMPONENTS.controller.name}`);
    await kubectlLB('rollout', 'status', `deployment/${COMPONENTS.controller.name}`, '--timeout=180s');
    const rolledMs = now() - from;
    expect(await serviceAddresses()).toEqual(addresses);
    await createService('after-rollout', {});
    const [ip] = await serviceIPs(lab, NS, 'after-rollout');
    log(
      `controller Deployment rolled out in ${secs(rolledMs)}: ${addresses.size} LoadBalancer Services kept ` +
        `their addresses; a new Service got ${ip}`,
    );
    expect(ip).toBeTruthy();
  });

  /** expectFastFailure runs waitForPods for a component and expects a PodStartError naming `pattern`. */
  async function expectFastFailure(component: 'controller' | 'speaker', pattern: RegExp, what: string) {
    const t0 = performance.now();
    const lines: string[] = [];
    const err = await waitForPods(lab, {
      namespace: IRONLB_NAMESPACE,
      selector: COMPONENTS[component].selector,
      count: component === 'controller' ? 2 : lab.state.nodes.length,
      what: `${COMPONENTS[component].kind} ${COMPONENTS[component].name}`,
      workload: COMPONENTS[component],
      timeoutMs: 120_000,
      log: (m) => lines.push(m),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - t0;
    expect(err).toBeInstanceOf(PodStartError);
    const message = (err as Error).message;
    expect(message).toMatch(pattern);
    const pods = await lab.kubectl([
      'get',
      'pods',
      '-n',
      IRONLB_NAMESPACE,
      '-l',
      COMPONENTS[component].selector,
    ]);
    log(
      `${what}: the lab's wait gave up after ${secs(ms)} with: ${message.split('\n')[0]}\n` +
        `  kubectl get pods:\n${pods.trimEnd().replace(/^/gm, '    ')}\n` +
        `  Events:${message.split('Warning Events in')[1] ?? ' (none)'}`,
    );
    return { message, pods };
  }

  /** rolledOut waits (bounded) until a workload's rollout is complete: the broken pods are gone. */
  async function rolledOut(component: 'controller' | 'speaker'): Promise<void> {
    const { kind, name } = COMPONENTS[component];
    await kubectlLB('rollout', 'status', `${kind}/${name}`, '--timeout=180s');
    await waitForIronLB(lab, { wait: [component], log });
    await waitForMembership(lab);
  }

  /** reinstall applies the lab's install again (undoing a test's change) and waits until IronLB is whole. */
  async function reinstall(): Promise<void> {
    await kubectlApplyK(lab, writeInstallKustomization(lab));
    await rolledOut('controller');
    await rolledOut('speaker');
  }

  /** undo rolls a workload back to its previous template (what a user does after a bad change). */
  function undo(component: 'controller' | 'speaker'): () => Promise<void> {
    return async () => {
      const { kind, name } = COMPONENTS[component];
      await kubectlLB('rollout', 'undo', `${kind}/${name}`);
      await rolledOut(component);
    };
  }

  it('a missing image is named in kubectl get pods, the Events and the lab output within seconds', async () => {
    cleanups.push(undo('controller'));
    await kubectlLB(
      'set',
      'image',
      `deployment/${COMPONENTS.controller.name}`,
      'controller=localhost/ironlb:does-not-exist',
    );
    const { pods } = await expectFastFailure('controller', /ErrImageNeverPull/, 'missing image');
    expect(pods).toMatch(/ErrImageNeverPull/);
    await cleanups.pop()?.();
  });

  it('a crash-looping speaker is named with its exit code within seconds', async () => {
    cleanups.push(undo('speaker'));
    // a liveness key shorter than 16 bytes: the speaker refuses to start (exit 2)
    await kubectlLB(
      'set',
      'env',
      `daemonset/${COMPONENTS.speaker.name}`,
      '-c',
      'speaker',
      'IRONLB_LIVENESS_KEY=too-short',
    );
    const { message } = await expectFastFailure(
      'speaker',
      /CrashLoopBackOff|exited/,
      'crash-looping speaker',
    );
    expect(message).toMatch(/exit(?:ed)? 2/);
    await cleanups.pop()?.();
  });

  it('an RBAC denial is named (the refused call from the pod log) within seconds', async () => {
    cleanups.push(reinstall);
    const role = JSON.parse(await lab.kubectl(['get', 'clusterrole', 'ironlb:controller', '-o', 'json'])) as {
      rules: { resources?: string[] }[];
    };
    const at = role.rules.findIndex((r) => r.resources?.includes('namespaces'));
    expect(at).toBeGreaterThanOrEqual(0);
    await lab.kubectl([
      'patch',
      'clusterrole',
      'ironlb:controller',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'remove', path: `/rules/${at}` }]),
    ]);
    await kubectlLB('rollout', 'restart', `deployment/${COMPONENTS.controller.name}`);
    const { message } = await expectFastFailure('controller', /RBAC|forbidden/i, 'RBAC denial');
    expect(message).toMatch(/namespaces/);
    await cleanups.pop()?.();
  });
});
