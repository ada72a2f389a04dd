// The lab overlay agrees with the lab it runs on (addresses, ASNs, BFD timers in LAB), pulls no image, and
// podProblem names the pod states a lab install must not wait out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { LAB } from '../harness/netlab.ts';
import { repoRoot } from '../harness/paths.ts';
import { OVERLAY_DIR, labPools, podProblem } from './install.ts';

type Obj = { kind: string; metadata: { name: string }; spec?: Record<string, unknown> } & Record<
  string,
  unknown
>;
const objects = labPools() as Obj[];
const find = (kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} "${name}" missing from test/lab/overlay/config`);
  return o;
};

describe('test/lab/overlay/config', () => {
  it('holds the pools LAB plans: L2 (v4 + v6) announced by ARP/NDP, BGP by annotation only', () => {
    expect(find('IPAddressPool', 'lab-l2').spec?.addresses).toEqual([LAB.l2Pool, LAB.l2PoolV6]);
    expect(find('L2Advertisement', 'lab-l2').spec?.ipAddressPools).toEqual(['lab-l2']);
    expect(find('IPAddressPool', 'lab-bgp').spec).toEqual({ addresses: [LAB.bgpPool], autoAssign: false });
    expect(find('BGPAdvertisement', 'lab-bgp').spec?.ipAddressPools).toEqual(['lab-bgp']);
  });

  it('peers every node with the router, node LAB.md5Node with the MD5 password, all with the router BFD profile', () => {
    const md5Node = `lab-node-${LAB.md5Node}`;
    for (const [name, operator] of [
      ['lab-router', 'NotIn'],
      ['lab-router-md5', 'In'],
    ] as const) {
      const spec = find('BGPPeer', name).spec ?? {};
      expect(spec).toMatchObject({
        myASN: LAB.nodeASN,
        peerASN: LAB.router.asn,
        peerAddress: LAB.router.v4,
        bfdProfile: LAB.bfd.profile,
        nodeSelectors: [
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator, values: [md5Node] }] },
        ],
      });
    }
    expect(find('BGPPeer', 'lab-router-md5').spec?.passwordSecret).toEqual({
      name: 'lab-bgp-md5',
      namespace: 'ironlb-system',
    });
    expect(find('Secret', 'lab-bgp-md5')).toMatchObject({
      type: 'kubernetes.io/basic-auth',
      stringData: { password: LAB.md5Password },
    });
    expect(find('BFDProfile', LAB.bfd.profile).spec).toEqual({
      receiveInterval: LAB.bfd.intervalMs,
      transmitInterval: LAB.bfd.intervalMs,
      detectMultiplier: LAB.bfd.multiplier,
    });
  });
});

describe('test/lab/overlay', () => {
  const k = parseAllDocuments(readFileSync(join(OVERLAY_DIR, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as {
    resources: string[];
    components: string[];
    images: { name: string; newName: string }[];
    patches: { patch: string }[];
  };

  it('is deploy/ with the bfd component and the image built here', () => {
    expect(k.resources).toEqual(['../../../deploy']);
    expect(k.components).toEqual(['../../../deploy/components/bfd']);
    expect(k.images).toEqual([{ name: 'ironlb', newName: 'localhost/ironlb', newTag: 'latest' }]);
  });

  it('never pulls: every container of every deploy/ workload gets imagePullPolicy Never', () => {
    const never = new Set<string>();
    for (const p of k.patches) {
      const doc = parseAllDocuments(p.patch)[0]?.toJS() as {
        metadata: { name: string };
        spec?: { template?: { spec?: { containers?: { name: string; imagePullPolicy?: string }[] } } };
      };
      for (const c of doc.spec?.template?.spec?.containers ?? [])
        if (c.imagePullPolicy === 'Never') never.add(`${doc.metadata.name}/${c.name}`);
    }
    const workloads: string[] = [];
    for (const f of ['controller.yaml', 'speaker.yaml', 'ingress.yaml'])
      for (const d of parseAllDocuments(readFileSync(join(repoRoot, 'deploy', f), 'utf8'))) {
        const o = d.toJS() as Obj | null;
        if (!o || !['Deployment', 'DaemonSet'].includes(o.kind)) continue;
        const spec = o.spec as { template: { spec: { containers: { name: string }[] } } };
        for (const c of spec.template.spec.containers) workloads.push(`${o.metadata.name}/${c.name}`);
      }
    expect([...never].sort()).toEqual(workloads.sort());
  });
});

describe('podProblem', () => {
  const pod = (status: k8s.V1PodStatus): k8s.V1Pod => ({
    metadata: { namespace: 'ironlb-system', name: 'ironlb-speaker-x' },
    status,
  });
  const waiting = (reason: string, extra: Partial<k8s.V1ContainerStatus> = {}): k8s.V1PodStatus => ({
    phase: 'Pending',
    containerStatuses: [
      {
        name: 'speaker',
        image: 'localhost/ironlb:x',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason, message: 'why' } },
        ...extra,
      },
    ],
  });

  it('names a missing image, a crash loop with its exit code, a bad configuration and an unschedulable pod', () => {
    expect(podProblem(pod(waiting('ErrImageNeverPull')))).toBe(
      'Pod "ironlb-system/ironlb-speaker-x" container "speaker": ErrImageNeverPull: why',
    );
    expect(
      podProblem(
        pod(
          waiting('CrashLoopBackOff', {
            restartCount: 2,
            lastState: { terminated: { exitCode: 2, reason: 'Error' } },
          }),
        ),
      ),
    ).toBe(
      'Pod "ironlb-system/ironlb-speaker-x" container "speaker": CrashLoopBackOff (last exit 2 Error): why',
    );
    expect(podProblem(pod(waiting('CreateContainerConfigError')))).toContain('CreateContainerConfigError');
    expect(
      podProblem(
        pod({
          phase: 'Running',
          containerStatuses: [
            {
              name: 'speaker',
              image: 'localhost/ironlb:x',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 2, reason: 'Error' } },
            },
          ],
        }),
      ),
    ).toBe(
      'Pod "ironlb-system/ironlb-speaker-x" container "speaker" exited 2 (Error); the kubelet restarts it (0 restarts so far)',
    );
    expect(
      podProblem(
        pod({
          phase: 'Pending',
          conditions: [
            { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes' },
          ],
        }),
      ),
    ).toBe('Pod "ironlb-system/ironlb-speaker-x" cannot be scheduled: 0/3 nodes');
  });

  it('lets a pod that is still starting or running be', () => {
    expect(podProblem(pod(waiting('ContainerCreating')))).toBeUndefined();
    expect(podProblem(pod({ phase: 'Running' }))).toBeUndefined();
  });
});
