// Smoke tests proving the lab's network is real: kube-proxy carries NodePort traffic from behind the router
// to pods on every node, and FRR in the router peers with a gobgpd on a node and installs its route (node 1
// leaves IronLB's speaker DaemonSet meanwhile when IronLB is installed: one BGP session per node address).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Lab } from '../harness/netlab.ts';
import { waitForEndpoints } from '../harness/kube.ts';
import { waitFor, stopPid } from '../harness/exec.ts';
import { restartSpeaker, speakerPods, stopSpeaker, waitSpeakerGone } from './support/ironlb.ts';

const lab = Lab.attach(inject('labDir'));

describe('lab smoke', () => {
  beforeAll(async () => {
    for (const i of [1, 2, 3])
      await lab.addPod({ namespace: 'smoke', name: `web-${i}`, node: i, labels: { app: 'web' } });
    await lab.api.core.createNamespacedService({
      namespace: 'smoke',
      body: {
        metadata: { name: 'web' },
        spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    await waitForEndpoints(lab.api, 'smoke', 'web', 3);
  });
  afterAll(async () => {
    for (const p of lab.state.pods.filter((x) => x.namespace === 'smoke')) await lab.removePod(p);
  });

  it('carries NodePort traffic from ironlb-ext through the router and kube-proxy to pods on every node', async () => {
    const svc = await lab.api.core.readNamespacedService({ name: 'web', namespace: 'smoke' });
    const nodePort = svc.spec?.ports?.[0]?.nodePort;
    const seen = new Set<string>();
    await waitFor(
      'answers from all three pods',
      async () => {
        const r = await lab.exec(
          'ext',
          ['curl', '-s', '-m', '2', `http://${lab.node(1).v4}:${nodePort}/smoke`],
          { check: false },
        );
        if (r.code === 0) {
          const body = JSON.parse(r.stdout) as { pod: string; path: string };
          expect(body.path).toBe('/smoke');
          seen.add(body.pod);
        }
        return seen.size === 3;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    expect([...seen].sort()).toEqual(['web-1', 'web-2', 'web-3']);
  });

  it('lets FRR peer with a gobgpd on a node and install the route it announces', async () => {
    const dir = lab.state.dir;
    const conf = join(dir, 'smoke-gobgpd.toml');
    const n = lab.node(1);
    const speaker = (await speakerPods(lab).catch(() => new Map())).has(1);
    if (speaker) {
      await stopSpeaker(lab, 1);
      await waitSpeakerGone(lab, 1);
    }
    writeFileSync(
      conf,
      `[global.config]\n  as = 64513\n  router-id = "${n.v4}"\n  port = -1\n` +
        `[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "192.0.2.1"\n    peer-as = 64512\n` +
        `  [neighbors.timers.config]\n    connect-retry = 1\n` +
        `  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "ipv4-unicast"\n`,
    );
    const pid = lab.startProcess('node-1', 'smoke-gobgpd', [
      'gobgpd',
      '-f',
      conf,
      '-p',
      '--api-hosts',
      '127.0.0.1:50099',
      '--pprof-disable',
    ]);
    try {
      await waitFor(
        'gobgpd API',
        async () =>
          (await lab.exec('node-1', ['gobgp', '-p', '50099', 'global'], { check: false })).code === 0,
      );
      await lab.exec('node-1', [
        'gobgp',
        '-p',
        '50099',
        'global',
        'rib',
        'add',
        '198.51.100.99/32',
        '-a',
        'ipv4',
      ]);
      const route = await waitFor(
        'the route in the router RIB',
        async () => {
          const rib = JSON.parse(await lab.vtysh('show bgp ipv4 unicast json')) as {
            routes?: Record<string, { nexthops: { ip: string }[]; valid?: boolean }[]>;
          };
          return rib.routes?.['198.51.100.99/32'];
        },
        { timeoutMs: 30_000 },
      );
      expect(route[0]?.nexthops[0]?.ip).toBe(n.v4);
      const summary = JSON.parse(await lab.vtysh('show bgp ipv4 unicast summary json')) as {
        peers: Record<string, { state: string }>;
      };
      expect(summary.peers[n.v4]?.state).toBe('Established');
      const kernel = await waitFor('the route in the router kernel', async () => {
        const out = (await lab.exec('router', ['ip', 'route', 'show', '198.51.100.99'])).stdout;
        return out.includes(`via ${n.v4}`) ? out : undefined;
      });
      expect(kernel).toMatch(/proto bgp/);
    } finally {
      await stopPid(pid);
      if (speaker) await restartSpeaker(lab, 1);
    }
  });
});
