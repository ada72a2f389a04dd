// Lab nodes as real Kubernetes nodes. Each node's network namespace runs its own containerd (Debian 1.6,
// runc, CNI plugins from /usr/lib/cni) and kubelet. Both share one mount namespace of their own (unshare -m),
// so every mount they make (image snapshots, volumes, the pods' network namespace pins) lives and dies with
// them and nothing leaks into the host's mount table; host paths they insist on (/run/netns, /run/containerd,
// /var/log/pods, /var/log/containers) are bind mounts of per-node directories inside that namespace. Pods run
// under a cgroup root named after the node's namespace ("/<prefix>node-N"), so teardown finds every container
// process of a lab, whichever checkout started it, by that name.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive, run, runAsync, start, stopPid, waitFor } from './exec.ts';
import { k8sBin } from './paths.ts';

/** CNI_BIN is where Debian's containernetworking-plugins installs the plugins. */
export const CNI_BIN = '/usr/lib/cni';
/** SANDBOX_IMAGE is every pod's sandbox (infra) image; it is imported, never pulled. */
export const SANDBOX_IMAGE = 'localhost/pause:3.10';
/** K8S_NAMESPACE is containerd's namespace for the kubelet's images and containers. */
export const K8S_NAMESPACE = 'k8s.io';

/** NodeAgentSpec is what one node's containerd and kubelet need to know. */
export interface NodeAgentSpec {
  /** name is the Kubernetes Node name (--hostname-override). */
  name: string;
  /** netns is the node's network namespace, also the name of its cgroup root. */
  netns: string;
  v4: string;
  v6: string;
  podCIDRs: [string, string];
  /** dir holds the node's containerd and kubelet state (removed on teardown). */
  dir: string;
  /** logDir receives containerd-<name>.log and kubelet-<name>.log. */
  logDir: string;
  kubeconfig: string;
  caCert: string;
}

/** NodeAgent is one running node: its containerd (whose pid also names the node's mount namespace) and kubelet. */
export interface NodeAgentState {
  name: string;
  netns: string;
  dir: string;
  socket: string;
  containerdPid: number;
  kubeletPid: number;
}

/** socketOf is the path of a node's containerd socket. */
export function socketOf(dir: string): string {
  return join(dir, 'containerd.sock');
}

/** renderContainerdConfig returns a containerd 1.6 configuration (version 2) confined to dir. */
export function renderContainerdConfig(dir: string): string {
  return `version = 2
root = "${join(dir, 'containerd')}"
state = "${join(dir, 'containerd-state')}"
oom_score = 0
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${socketOf(dir)}"

[ttrpc]
  address = ""

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${SANDBOX_IMAGE}"
  # this machine's bounding set lacks CAP_SYS_RESOURCE: without it every sandbox fails to start
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "${join(dir, 'runc')}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN}"
    conf_dir = "${join(dir, 'cni')}"
    max_conf_num = 1
`;
}

/**
 * renderCniConfig returns the pod network of one node: a routed veth per pod (ptp, like the lab's routed pod
 * network: the node is every pod's gateway, other nodes reach its range through its LAN address) and
 * host-local addresses from the node's ranges, kept in the node's directory.
 */
export function renderCniConfig(spec: Pick<NodeAgentSpec, 'podCIDRs' | 'dir'>): string {
  const [v4, v6] = spec.podCIDRs;
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'lab',
      plugins: [
        {
          type: 'ptp',
          ipMasq: false,
          mtu: 1500,
          ipam: {
            type: 'host-local',
            dataDir: join(spec.dir, 'ipam'),
            ranges: [
              [{ subnet: v4, rangeStart: v4.replace(/\.0\/24$/, '.10') }],
              [{ subnet: v6, rangeStart: v6.replace(/::\/64$/, '::10') }],
            ],
            routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/** renderKubeletConfig returns the kubelet's configuration for this machine (cgroup v1, swap, no CAP_SYS_RESOURCE). */
export function renderKubeletConfig(spec: NodeAgentSpec): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: /${spec.netns}
cgroupsPerQOS: true
oomScoreAdj: 0
containerRuntimeEndpoint: unix://${socketOf(spec.dir)}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ${spec.caCert}
authorization:
  mode: Webhook
# heartbeats well inside the controller manager's short grace period
nodeStatusUpdateFrequency: 2s
nodeLeaseDurationSeconds: 8
volumePluginDir: ${join(spec.dir, 'volume-plugins')}
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
evictionHard:
  memory.available: 1Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
registerNode: true
`;
}

/** cgroupHierarchies lists the mounted cgroup hierarchies (v1 controllers, and the v2 "unified" one if mounted). */
function cgroupHierarchies(): string[] {
  const base = '/sys/fs/cgroup';
  if (existsSync(join(base, 'cgroup.controllers'))) return [base];
  return readdirSync(base)
    .map((d) => join(base, d))
    .filter((d) => existsSync(join(d, 'cgroup.procs')));
}

/** makeCgroupRoot creates /<name> in every hierarchy (cpuset gets its parent's cpus and mems). */
export function makeCgroupRoot(name: string): void {
  for (const h of cgroupHierarchies()) {
    const d = join(h, name);
    mkdirSync(d, { recursive: true });
    if (existsSync(join(d, 'cpuset.cpus'))) {
      for (const f of ['cpuset.cpus', 'cpuset.mems'])
        if (readFileSync(join(d, f), 'utf8').trim() === '')
          writeFileSync(join(d, f), readFileSync(join(h, f), 'utf8'));
    }
  }
}

function cgroupDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  const out = [root];
  for (const e of readdirSync(root, { withFileTypes: true }))
    if (e.isDirectory()) out.push(...cgroupDirs(join(root, e.name)));
  return out;
}

function cgroupPids(name: string): number[] {
  const pids = new Set<number>();
  for (const h of cgroupHierarchies())
    for (const d of cgroupDirs(join(h, name))) {
      try {
        for (const l of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.add(Number(l));
      } catch {
        /* removed meanwhile */
      }
    }
  return [...pids];
}

/** cgroupRoots lists the cgroup roots of a lab's nodes (named like their namespaces). */
export function cgroupRoots(re: RegExp): string[] {
  const names = new Set<string>();
  for (const h of cgroupHierarchies())
    for (const e of readdirSync(h, { withFileTypes: true }))
      if (e.isDirectory() && re.test(e.name)) names.add(e.name);
  return [...names];
}

/**
 * removeCgroupRoot kills every process under /<name> (the containers of a node's pods, which outlive their
 * shims) and removes the cgroups, deepest first.
 */
export async function removeCgroupRoot(name: string): Promise<void> {
  for (let pass = 0; pass < 5; pass++) {
    const pids = cgroupPids(name);
    if (pids.length === 0) break;
    await Promise.all(pids.map((p) => stopPid(p, pass === 0 ? 1000 : 300)));
  }
  for (const h of cgroupHierarchies()) {
    const dirs = cgroupDirs(join(h, name)).reverse();
    for (const d of dirs) {
      for (let k = 0; k < 20; k++) {
        try {
          rmdirSync(d);
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
          await sleep(100); // a process that just exited is still being released
        }
      }
    }
  }
}

/** hostSysctls are the host-wide (not per network namespace) settings a kubelet changes at start. */
const hostSysctls = ['vm.overcommit_memory', 'kernel.panic', 'kernel.panic_on_oops'];
/** labRegistry holds machine-wide lab records (which checkout runs which prefix, the host's sysctls). */
export const labRegistry = '/run/ironlb-labs';
const sysctlRecord = join(labRegistry, 'host-sysctls.json');

/** recordHostSysctls saves the host's values before the first kubelet of any lab changes them. */
export function recordHostSysctls(): void {
  if (existsSync(sysctlRecord)) return;
  mkdirSync(labRegistry, { recursive: true });
  const values: Record<string, string> = {};
  for (const k of hostSysctls) values[k] = run(['sysctl', '-n', k]).stdout.trim();
  writeFileSync(sysctlRecord, JSON.stringify(values));
}

/**
 * restoreHostSysctls puts the recorded values back. The record is kept while a kubelet still runs (another lab),
 * so the last lab down restores them too.
 */
export function restoreHostSysctls(): void {
  if (!existsSync(sysctlRecord)) return;
  const values = JSON.parse(readFileSync(sysctlRecord, 'utf8')) as Record<string, string>;
  for (const [k, v] of Object.entries(values)) run(['sysctl', '-q', '-w', `${k}=${v}`], { check: false });
  if (run(['pgrep', '-x', 'kubelet'], { check: false }).stdout.trim() === '') run(['rm', '-f', sysctlRecord]);
}

const binds = (dir: string): [string, string][] => [
  ['/run/netns', join(dir, 'netns')],
  ['/run/containerd', join(dir, 'run')],
  ['/var/log/pods', join(dir, 'pod-logs')],
  ['/var/log/containers', join(dir, 'container-logs')],
];

/**
 * startContainerd writes the node's configuration and starts containerd in the node's network namespace and a
 * new mount namespace; resolves once its socket answers.
 */
export async function startContainerd(
  spec: Omit<NodeAgentSpec, 'kubeconfig' | 'caCert'>,
): Promise<NodeAgentState> {
  const d = spec.dir;
  mkdirSync(join(d, 'cni'), { recursive: true });
  writeFileSync(join(d, 'containerd.toml'), renderContainerdConfig(d));
  writeFileSync(join(d, 'cni', '10-lab.conflist'), renderCniConfig(spec));
  const script = [
    '#!/bin/sh',
    '# runs in the node network namespace, in a private mount namespace of its own (unshare -m)',
    'set -e',
    ...binds(d).map(([target, src]) => `mkdir -p ${target} ${src} && mount --bind ${src} ${target}`),
    `exec containerd --config ${join(d, 'containerd.toml')}`,
    '',
  ].join('\n');
  writeFileSync(join(d, 'containerd.sh'), script, { mode: 0o755 });
  makeCgroupRoot(spec.netns);
  const log = join(spec.logDir, `containerd-${spec.name}.log`);
  const env = { ...process.env, PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` };
  const child = start(
    [
      'nsenter',
      `--net=/run/netns/${spec.netns}`,
      '--',
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      join(d, 'containerd.sh'),
    ],
    { log, detached: true, env },
  );
  const pid = child.pid ?? -1;
  const socket = socketOf(d);
  await waitFor(
    `containerd on ${spec.name}`,
    async () => {
      if (!alive(pid)) throw new Error('containerd exited');
      return (await runAsync(['ctr', '-a', socket, 'version'], { check: false, timeoutMs: 5000 })).code === 0;
    },
    { log, timeoutMs: 30_000 },
  );
  return { name: spec.name, netns: spec.netns, dir: d, socket, containerdPid: pid, kubeletPid: -1 };
}

/** startKubelet starts the node's kubelet in its containerd's network and mount namespaces. */
export function startKubelet(spec: NodeAgentSpec, state: NodeAgentState): void {
  const d = spec.dir;
  writeFileSync(join(d, 'kubelet.yaml'), renderKubeletConfig(spec));
  const log = join(spec.logDir, `kubelet-${spec.name}.log`);
  const env = { ...process.env, PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` };
  const child = start(
    [
      'nsenter',
      `--target=${state.containerdPid}`,
      '--net',
      '--mount',
      '--',
      k8sBin('kubelet'),
      `--config=${join(d, 'kubelet.yaml')}`,
      `--kubeconfig=${spec.kubeconfig}`,
      `--hostname-override=${spec.name}`,
      `--node-ip=${spec.v4},${spec.v6}`,
      `--root-dir=${join(d, 'kubelet')}`,
      `--cert-dir=${join(d, 'kubelet-pki')}`,
      '--v=1',
    ],
    { log, detached: true, env },
  );
  state.kubeletPid = child.pid ?? -1;
}

/** kubeletLog is the path of a node's kubelet log. */
export function kubeletLog(logDir: string, name: string): string {
  return join(logDir, `kubelet-${name}.log`);
}

/** removeNodeDir removes a node's directory after its processes are gone (its mounts died with its mount namespace). */
export async function removeNodeDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  // a mount namespace dies with its last process; until then the kernel may still hold a bind mount busy
  await waitFor(
    `${dir} removed`,
    async () => (await runAsync(['rm', '-rf', dir], { check: false, timeoutMs: 120_000 })).code === 0,
    { timeoutMs: 120_000 },
  );
}
