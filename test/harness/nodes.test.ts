import { describe, expect, it } from 'vitest';
import { renderCniConfig, renderContainerdConfig, renderKubeletConfig, SANDBOX_IMAGE } from './nodes.ts';
import { kubeProxyManifests } from './kubeproxy.ts';

const spec = {
  name: 'lab-node-2',
  netns: 'ironlb-node-2',
  v4: '192.0.2.12',
  v6: '2001:db8:0:1::12',
  podCIDRs: ['10.244.2.0/24', 'fd00:10:244:2::/64'] as [string, string],
  dir: '/lab/nodes/lab-node-2',
  logDir: '/lab/logs',
  kubeconfig: '/lab/kubelet-2.kubeconfig',
  caCert: '/lab/cp/pki/ca.crt',
};

describe('node agent configuration', () => {
  it('hands out pod addresses from the node ranges, from .10 on, with state in the node directory', () => {
    const cni = JSON.parse(renderCniConfig(spec)) as {
      plugins: {
        type: string;
        ipam?: { dataDir: string; ranges: { subnet: string; rangeStart: string }[][] };
      }[];
    };
    const ipam = cni.plugins[0]?.ipam;
    expect(ipam?.ranges).toEqual([
      [{ subnet: '10.244.2.0/24', rangeStart: '10.244.2.10' }],
      [{ subnet: 'fd00:10:244:2::/64', rangeStart: 'fd00:10:244:2::10' }],
    ]);
    expect(ipam?.dataDir).toBe('/lab/nodes/lab-node-2/ipam');
  });

  it('confines containerd to the node directory and restricts OOM score changes', () => {
    const toml = renderContainerdConfig(spec.dir);
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain(`sandbox_image = "${SANDBOX_IMAGE}"`);
    for (const line of toml.split('\n').filter((l) => /^\s*(root|state|address|Root|conf_dir) = "\//.test(l)))
      expect(line).toContain(spec.dir);
  });

  it('runs the kubelet under the node cgroup root with the settings this machine needs', () => {
    const y = renderKubeletConfig(spec);
    for (const want of [
      'failCgroupV1: false',
      'cgroupDriver: cgroupfs',
      'failSwapOn: false',
      'oomScoreAdj: 0',
      'cgroupRoot: /ironlb-node-2',
      `containerRuntimeEndpoint: unix://${spec.dir}/containerd.sock`,
    ])
      expect(y).toContain(want);
  });

  it('gives kube-proxy the API server address, not the ClusterIP it has yet to program', () => {
    const items = kubeProxyManifests({ server: 'https://192.0.2.2:6443', clusterCIDRs: '10.244.0.0/16' });
    const cm = items.find((o) => (o as { kind: string }).kind === 'ConfigMap') as {
      data: { kubeconfig: string };
    };
    expect(cm.data.kubeconfig).toContain('server: https://192.0.2.2:6443');
    expect(items.map((o) => (o as { kind: string }).kind)).toEqual([
      'ServiceAccount',
      'ClusterRoleBinding',
      'ConfigMap',
      'DaemonSet',
    ]);
  });
});
