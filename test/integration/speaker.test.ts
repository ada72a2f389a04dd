// The speaker in-process against the real API server, with no network namespace: createSpeaker runs with a
// recording L2 wire (no packet sockets), heartbeats on a fake transport and no BGP, so what is checked is what
// it reads and writes through the API: the plan from real Services, EndpointSlices, Nodes and pools, the
// ServiceL2Status object, the nodeAssigned Event, the AddressConflict condition (read back with the codec the
// controller uses) and the clean-up on stop.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { realClock } from '../../edge/clock.ts';
import { createLogger } from '../../edge/log.ts';
import type { App } from '../../edge/program.ts';
import { decodeConflict } from '../../src/contracts/conflict.ts';
import { RESOURCES, STATUS_LABELS } from '../../src/contracts/resources.ts';
import { createSpeaker } from '../../speaker/app.ts';
import { SpeakerMetrics } from '../../speaker/metrics.ts';
import { waitFor } from '../harness/exec.ts';
import { recordingWire } from '../support/l2-wire.ts';
import { isNotFound, mergePatch } from '../harness/kube.ts';
import { TestEnv } from './support/objects.ts';
import { endWorlds, trackEnv, worldClients } from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const c = worldClients(kubeconfig);
const NODE = 'ironlb-it-speaker-n1';
const IP = '192.0.2.231';

let env: TestEnv;
let speaker: App | undefined;
const wire = recordingWire();
const applied = wire.applied;

async function deleteNode(): Promise<void> {
  try {
    await c.core.deleteNode({ name: NODE });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

async function statusObjects(): Promise<
  { metadata: { labels?: Record<string, string> }; status?: object }[]
> {
  const r = RESOURCES.ServiceL2Status;
  const list = (await c.custom.listNamespacedCustomObject({
    group: r.group,
    version: r.version,
    namespace: env.configNs,
    plural: r.plural,
    labelSelector: `${STATUS_LABELS.node}=${NODE}`,
  })) as { items: { metadata: { labels?: Record<string, string> }; status?: object }[] };
  return list.items;
}

beforeAll(async () => {
  env = trackEnv(await new TestEnv(c, 'speaker').create());
  await deleteNode();
  await c.core.createNode({
    body: {
      metadata: { name: NODE },
      status: { addresses: [{ type: 'InternalIP', address: '192.0.2.11' }] },
    },
  });
  await env.pool('lan', { addresses: ['192.0.2.224/28'] });
  const l2 = RESOURCES.L2Advertisement;
  await c.custom.createNamespacedCustomObject({
    group: l2.group,
    version: l2.version,
    namespace: env.configNs,
    plural: l2.plural,
    body: {
      apiVersion: `${l2.group}/${l2.version}`,
      kind: l2.kind,
      metadata: { name: 'lan', namespace: env.configNs },
      spec: { ipAddressPools: ['lan'] },
    },
  });
  await env.service('web');
  await c.core.patchNamespacedServiceStatus(
    { name: 'web', namespace: env.ns, body: { status: { loadBalancer: { ingress: [{ ip: IP }] } } } },
    mergePatch,
  );
  // a slice the EndpointSlice controller does not manage (no managed-by label): one ready endpoint on NODE
  await c.discovery.createNamespacedEndpointSlice({
    namespace: env.ns,
    body: {
      metadata: { name: 'web-manual', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.5'], nodeName: NODE, conditions: { ready: true } }],
      ports: [{ name: 'p80-tcp', port: 80, protocol: 'TCP' }],
    },
  });

  const kube = new k8s.KubeConfig();
  kube.loadFromFile(kubeconfig);
  speaker = createSpeaker(
    {
      kube,
      clock: realClock,
      log: createLogger('ironlb-speaker', 'warn').child({ node: NODE }),
      metrics: new SpeakerMetrics(),
      lease: { isLeader: () => true },
    },
    {
      self: NODE,
      namespace: env.configNs,
      lbClass: env.lbClass,
      mode: 'evenSpread',
      ignoreExcludeLabel: false,
      handoffMs: 10,
      liveness: {
        port: 0,
        intervalMs: 100,
        timeoutMs: 50,
        transport: { open: async () => undefined, send: () => undefined, close: () => undefined },
      },
      gobgp: { api: '127.0.0.1:1', spawn: false },
      bgp: async () => undefined,
      wire: wire.make,
    },
  );
  await speaker.start();
});

afterAll(async () => {
  await speaker?.stop('test over');
  await deleteNode();
  await endWorlds();
});

describe('speaker (in-process, real API server)', () => {
  it('announces a Service with a ready endpoint, writes its ServiceL2Status and a nodeAssigned Event', async () => {
    expect(speaker?.ready()).toBe(true);
    await waitFor('the address on the wire', () => applied.at(-1)?.addresses.has(IP), { timeoutMs: 10_000 });
    const objs = await waitFor('the ServiceL2Status object', async () => {
      const items = await statusObjects();
      return items.length === 1 && items[0]?.status ? items : undefined;
    });
    expect(objs[0]?.metadata.labels).toMatchObject({
      [STATUS_LABELS.serviceName]: 'web',
      [STATUS_LABELS.serviceNamespace]: env.ns,
    });
    expect(objs[0]?.status).toMatchObject({ node: NODE, interfaces: [{ name: 'eth0' }] });
    const ev = await env.waitEvent('web', 'nodeAssigned');
    expect(ev.message).toBe(`announcing from node "${NODE}" with protocol "layer2"`);
  });

  it('reports an address in use elsewhere on the Service in the form the controller decodes', async () => {
    wire.hooks?.onConflict({
      ip: IP,
      interfaceName: 'eth0',
      mac: '02:00:00:00:00:99',
      evidence: 'arp-reply',
    } as never);
    const conflict = await waitFor('the AddressConflict condition', async () =>
      decodeConflict((await env.getService('web'))?.status?.conditions),
    );
    expect(conflict).toMatchObject({ ips: [IP], active: true, detectedBy: NODE, mac: '02:00:00:00:00:99' });
    await env.waitEvent('web', 'AddressConflict');
  });

  it('withdraws when the endpoint goes away, and removes its status objects on stop', async () => {
    await c.discovery.patchNamespacedEndpointSlice(
      {
        name: 'web-manual',
        namespace: env.ns,
        body: { endpoints: [{ addresses: ['10.244.1.5'], nodeName: NODE, conditions: { ready: false } }] },
      },
      mergePatch,
    );
    await waitFor('the address to leave the wire', () => applied.at(-1)?.addresses.has(IP) === false, {
      timeoutMs: 10_000,
    });
    await speaker?.stop('test over');
    speaker = undefined;
    expect(await statusObjects()).toEqual([]);
  });
});
