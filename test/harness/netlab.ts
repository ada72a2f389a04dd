// The network lab: hosts as network namespaces on one LAN bridge, a router running FRR with an external client
// behind it, a real control plane in its own namespace, and three real Kubernetes nodes: each node namespace
// runs containerd and a kubelet (test/harness/nodes.ts), pods are containers on a routed pod network.
// Layout (ARCHITECTURE.md, "The local lab"):
//
//  <p>ext 203.0.113.10 ── <p>router (FRR, AS 64512) 203.0.113.1 / 192.0.2.1
//  ──────── LAN bridge in <p>lan: 192.0.2.0/24, 2001:db8:0:1::/64 ────────
//  <p>core 192.0.2.2 (etcd, apiserver, controller-manager, scheduler)   <p>client 192.0.2.100
//  <p>node-N 192.0.2.1N (containerd, kubelet, kube-proxy)
//  pods: 10.244.N.0/24 and fd00:10:244:N::/64 (from .10 / ::10 on), routed by node N; a pod made by addPod is
//  also reachable as the named namespace <p>pod-N-K
//
// All names start with a prefix (default "ironlb-"); a run first removes what an earlier crashed run left, and
// records its state directory in /run/ironlb-labs/<prefix>, so any checkout can remove any lab.
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { alive, run, runAsync, start, stopPid, waitFor } from './exec.ts';
import { ControlPlane, type ControlPlaneState } from './controlplane.ts';
import { clientCert, kubeconfig } from './certs.ts';
import { clients, ensureNamespace, mergePatch, type Clients } from './kube.ts';
import {
  cgroupRoots,
  K8S_NAMESPACE,
  kubeletLog,
  labRegistry,
  recordHostSysctls,
  removeCgroupRoot,
  removeNodeDir,
  restoreHostSysctls,
  SANDBOX_IMAGE,
  startContainerd,
  startKubelet,
  type NodeAgentSpec,
  type NodeAgentState,
} from './nodes.ts';
import { buildImages, importImages, parsePrinted, type ImageArchive } from './images.ts';
import { KUBE_PROXY_IMAGE, kubeProxyManifests } from './kubeproxy.ts';
import { k8sBin, nodeBin, repoRoot } from './paths.ts';

/** LAB holds the lab's fixed addressing plan (documentation ranges only). */
export const LAB = {
  lan: { v4Prefix: 24, v6Prefix: 64 },
  router: {
    v4: '192.0.2.1',
    v6: '2001:db8:0:1::1',
    extV4: '203.0.113.1',
    extV6: '2001:db8:0:2::1',
    asn: 64512,
  },
  core: { v4: '192.0.2.2', v6: '2001:db8:0:1::2' },
  client: { v4: '192.0.2.100', v6: '2001:db8:0:1::100' },
  ext: { v4: '203.0.113.10', v6: '2001:db8:0:2::10' },
  nodeASN: 64513,
  /** md5Node: the node whose BGP session the router protects with TCP MD5 (md5Password); the others use none. */
  md5Node: 2,
  md5Password: 'ironlb-lab-md5',
  /** bfd: the router's BFD profile toward every node (FRR bfdd); nodes answer when their BGPPeer names one. */
  bfd: { profile: 'lab-fast', intervalMs: 200, multiplier: 3 },
  apiPort: 6443,
  /** l2Pool and l2PoolV6: addresses on the LAN announced by ARP/NDP. bgpPool: routed through the router. */
  l2Pool: '192.0.2.200-192.0.2.250',
  l2PoolV6: '2001:db8:0:1::200-2001:db8:0:1::250',
  bgpPool: '198.51.100.0/24',
  /** nodeGracePeriod: how long a silent node stays Ready (kube-controller-manager --node-monitor-grace-period). */
  nodeGracePeriod: '10s',
  serviceCIDRs: '10.96.0.0/16,fd00:10:96::/112',
  clusterCIDRs: '10.244.0.0/16,fd00:10:244::/56',
} as const;

/** LabNode is one node: its Kubernetes name, namespace, addresses and pod ranges. */
export interface LabNode {
  index: number;
  name: string;
  netns: string;
  v4: string;
  v6: string;
  mac: string;
  podCIDRs: [string, string];
}

/**
 * LabPod is a pod addPod made: a real Pod on its node (a container on the node's containerd), its network
 * namespace also named netns in the root namespace; pid is the lab process serving in it (-1 when none).
 */
export interface LabPod {
  namespace: string;
  name: string;
  node: number;
  netns: string;
  ips: [string, string];
  hostVeth: string;
  pid: number;
  labels: Record<string, string>;
}

/** LabState is everything needed to find, use and remove a running lab. */
export interface LabState {
  prefix: string;
  dir: string;
  nodes: LabNode[];
  pods: LabPod[];
  podSeq: number;
  controlPlane: ControlPlaneState;
  /** hostKubeconfig reaches the API server from the root namespace (through a unix-socket forwarder). */
  hostKubeconfig: string;
  /** labKubeconfig reaches the API server from inside the lab's namespaces (192.0.2.2). */
  labKubeconfig: string;
  forwarderPid: number;
  hostApiPort: number;
  /** pids of processes the lab started outside namespaces it owns, for teardown. */
  extraPids: number[];
  /** agents: each node's containerd and kubelet. */
  agents?: NodeAgentState[];
  /** images imported into every node's containerd. */
  images?: LabImage[];
}

/** ECHO_IMAGE is the echo app's image name (the tag is its content's); addPod runs it when the lab has it. */
export const ECHO_IMAGE = 'localhost/ironlb-echo';

/** LabImage is an image the lab loads into its nodes: a local reference and its OCI archive. */
export type LabImage = ImageArchive;

/** LabOptions: where state lives, the name prefix, node count, logging. */
export interface LabOptions {
  dir: string;
  prefix?: string;
  nodes?: number;
  /** hostApiPort on 127.0.0.1 in the root namespace that forwards to the API server. */
  hostApiPort?: number;
  /** crdDir to install (default deploy/crds); null installs none. */
  crdDir?: string | null;
  /** images to load into every node (default: the project's images, see labImages). */
  images?: LabImage[];
  log?: (msg: string) => void;
}

/** NODE_IMAGES are the images every node gets (scripts/build-images.sh names): sandbox, kube-proxy, echo, IronLB. */
export const NODE_IMAGES = ['pause', 'kube-proxy', 'echo', 'ironlb'];
const NODE_IMAGE_NAMES = [
  'localhost/pause',
  'localhost/kube-proxy',
  'localhost/ironlb-echo',
  'localhost/ironlb',
];

/**
 * labImages builds (or finds in the cache) the images every node gets, with progress lines; IRONLB_LAB_IMAGES
 * may instead name a file of "<ref> <oci-archive>" lines (build-images.sh --print's output).
 */
export async function labImages(log: (msg: string) => void = () => {}): Promise<LabImage[]> {
  const file = process.env.IRONLB_LAB_IMAGES;
  if (file) return parsePrinted(readFileSync(file, 'utf8'));
  const t0 = Date.now();
  log(`lab: images ${NODE_IMAGES.join(', ')} (scripts/build-images.sh; only what changed is built)`);
  const built = await buildImages({ images: NODE_IMAGES, progress: (l) => log(`  ${l}`) });
  // the script also prints the images those are built on (minbase, base): nodes run none of them
  const images = built.filter((i) => NODE_IMAGE_NAMES.includes(i.ref.slice(0, i.ref.lastIndexOf(':'))));
  log(`lab: ${images.length} images ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return images;
}

function nsPattern(prefix: string): RegExp {
  const p = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${p}(lan|core|router|ext|client|node-\\d+|pod-\\d+-\\d+)$`);
}

function cgroupPattern(prefix: string): RegExp {
  const p = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${p}node-\\d+$`);
}

/** registryFile records, machine-wide, which state directory the lab with this prefix lives in. */
function registryFile(prefix: string): string {
  return join(labRegistry, `${prefix.replace(/[^A-Za-z0-9_.-]/g, '_')}lab`);
}

/** portHolder names the process listening on 127.0.0.1:port (or undefined when the port is free). */
async function portHolder(port: number): Promise<string | undefined> {
  const free = await new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  if (free) return undefined;
  const ss = run(['ss', '-Htlnp', `sport = :${port}`], { check: false }).stdout;
  const m = /pid=(\d+)/.exec(ss);
  if (!m) return 'an unknown process';
  const pid = Number(m[1]);
  let cmd = '';
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    /* gone */
  }
  return `pid ${pid} (${cmd || 'unknown'})`;
}

/** labNamespaces lists the existing network namespaces that belong to a lab with this prefix. */
export function labNamespaces(prefix: string): string[] {
  const re = nsPattern(prefix);
  return run(['ip', 'netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => re.test(n));
}

/**
 * removeNamespaces kills every process inside the namespaces, then deletes them. It repeats the sweep (up to five
 * times) until no process is left, so a process that a dying parent restarts during teardown cannot outlive
 * its namespace.
 */
export async function removeNamespaces(names: string[]): Promise<void> {
  const pidsIn = (ns: string) =>
    run(['ip', 'netns', 'pids', ns], { check: false }).stdout.split('\n').filter(Boolean).map(Number);
  for (let pass = 0; pass < 5; pass++) {
    const pids = names.flatMap(pidsIn);
    if (pids.length === 0) break;
    await Promise.all(pids.map((pid) => stopPid(pid, pass === 0 ? 3000 : 500)));
  }
  for (const ns of names) run(['ip', 'netns', 'del', ns], { check: false });
}

/** Lab is a running lab. Create with Lab.up(), find again with Lab.attach(), remove with down(). */
export class Lab {
  readonly state: LabState;
  private clientsCache: Clients | undefined;
  private readonly log: (msg: string) => void;

  private constructor(state: LabState, log: (msg: string) => void) {
    this.state = state;
    this.log = log;
  }

  /** ns returns the namespace name of a role ("core", "router", "client", "ext", "lan", "node-1"). */
  ns(role: string): string {
    return `${this.state.prefix}${role}`;
  }

  /** node returns node i (1-based). */
  node(i: number): LabNode {
    const n = this.state.nodes[i - 1];
    if (!n) throw new RangeError(`Lab has no node ${i}`);
    return n;
  }

  /** api returns API clients that work from the root namespace (this process). */
  get api(): Clients {
    this.clientsCache ??= clients(this.state.hostKubeconfig);
    return this.clientsCache;
  }

  /** exec runs argv inside a role's namespace and returns its output. */
  exec(role: string, argv: string[], options: { check?: boolean; timeoutMs?: number } = {}) {
    return runAsync(argv, { ...options, netns: this.ns(role) });
  }

  /** kubectl runs the cached kubectl with the host kubeconfig. */
  async kubectl(args: string[], input?: string): Promise<string> {
    return (
      await runAsync([k8sBin('kubectl'), `--kubeconfig=${this.state.hostKubeconfig}`, ...args], { input })
    ).stdout;
  }

  private save(): void {
    writeFileSync(join(this.state.dir, 'lab.json'), JSON.stringify(this.state, null, 2));
  }

  /** attach finds a running lab from its state directory. */
  static attach(dir: string, log: (msg: string) => void = () => {}): Lab {
    const file = join(dir, 'lab.json');
    if (!existsSync(file)) throw new Error(`No lab state in "${file}": run "make lab" first`);
    return new Lab(JSON.parse(readFileSync(file, 'utf8')) as LabState, log);
  }

  /**
   * cleanup removes whatever a lab with this prefix left behind, whichever checkout started it: its forwarders,
   * every process in its namespaces (kubelets, containerds, shims, pods), every container under its nodes'
   * cgroup roots, the namespaces, the nodes' state (their mounts died with their mount namespaces), and the
   * host sysctls the kubelets changed.
   */
  static async cleanup(options: { dir: string; prefix?: string }): Promise<string[]> {
    const prefix = options.prefix ?? 'ironlb-';
    const dirs = new Set([options.dir]);
    const record = registryFile(prefix);
    if (existsSync(record)) dirs.add(readFileSync(record, 'utf8').trim());
    for (const dir of dirs) {
      const stateFile = join(dir, 'lab.json');
      if (existsSync(stateFile)) {
        try {
          const st = JSON.parse(readFileSync(stateFile, 'utf8')) as LabState;
          if (st.prefix === prefix)
            await Promise.all(
              [st.forwarderPid, ...st.extraPids].filter((p) => p > 0).map((p) => stopPid(p, 2000)),
            );
        } catch {
          /* a damaged state file: the sweeps below still remove everything that matters */
        }
      }
      run(['pkill', '-f', `UNIX-CONNECT:${join(dir, 'api.sock')}`], { check: false });
    }
    const names = labNamespaces(prefix);
    await removeNamespaces(names);
    const roots = cgroupRoots(cgroupPattern(prefix));
    await Promise.all(roots.map((cg) => removeCgroupRoot(cg)));
    // each node's image snapshots are many small files: remove the nodes' directories side by side
    const nodeDirs = [...dirs].flatMap((dir) => {
      const d = join(dir, 'nodes');
      return existsSync(d) ? readdirSync(d).map((n) => join(d, n)) : [];
    });
    await Promise.all(nodeDirs.map((d) => removeNodeDir(d)));
    for (const dir of dirs) {
      rmSync(join(dir, 'nodes'), { recursive: true, force: true });
      rmSync(join(dir, 'api.sock'), { force: true });
      rmSync(join(dir, 'lab.json'), { force: true });
    }
    restoreHostSysctls();
    rmSync(record, { force: true });
    return [...names, ...roots.filter((r) => !names.includes(r))];
  }

  /** up removes leftovers, then builds the network, FRR, the control plane, the nodes and their kube-proxies. */
  static async up(options: LabOptions): Promise<Lab> {
    const log = options.log ?? (() => {});
    const prefix = options.prefix ?? 'ironlb-';
    const dir = options.dir;
    const leftovers = await Lab.cleanup({ dir, prefix });
    if (leftovers.length) log(`lab: removed ${leftovers.length} namespaces left by an earlier run`);
    const hostApiPort = options.hostApiPort ?? 16443;
    const holder = await portHolder(hostApiPort);
    if (holder)
      throw new Error(
        `Port 127.0.0.1:${hostApiPort} (the lab's API forwarder) is in use by ${holder}: stop it, or give the ` +
          'lab another port (hostApiPort; IRONLB_E2E_API_PORT for the e2e lab)',
      );
    const images = options.images ?? (await labImages(log));
    mkdirSync(labRegistry, { recursive: true });
    writeFileSync(registryFile(prefix), dir);
    rmSync(join(dir, 'cp'), { recursive: true, force: true });
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const nodeCount = options.nodes ?? 3;
    const nodes: LabNode[] = Array.from({ length: nodeCount }, (_, k) => {
      const i = k + 1;
      return {
        index: i,
        name: `lab-node-${i}`,
        netns: `${prefix}node-${i}`,
        v4: `192.0.2.${10 + i}`,
        v6: `2001:db8:0:1::${10 + i}`,
        mac: `02:1b:00:00:01:${i.toString(16).padStart(2, '0')}`,
        podCIDRs: [`10.244.${i}.0/24`, `fd00:10:244:${i}::/64`],
      };
    });
    const lab = new Lab(
      {
        prefix,
        dir,
        nodes,
        pods: [],
        podSeq: 0,
        controlPlane: undefined as unknown as ControlPlaneState,
        hostKubeconfig: join(dir, 'kubeconfig'),
        labKubeconfig: join(dir, 'lab.kubeconfig'),
        forwarderPid: -1,
        hostApiPort,
        extraPids: [],
        agents: [],
        images: [],
      },
      log,
    );
    try {
      lab.buildNetwork();
      log('lab: network built (LAN bridge, router, core, client, ext, nodes)');
      // containerd and the image imports need no control plane: they run while it starts
      const runtimes = lab.startRuntimes(images);
      runtimes.catch(() => undefined); // awaited below; this only keeps it from counting as unhandled meanwhile
      await lab.startRouter();
      log(`lab: FRR running in ${lab.ns('router')} (AS ${LAB.router.asn})`);
      await lab.startControlPlane(options.crdDir);
      await runtimes;
      await lab.startKubelets();
      await lab.startKubeProxies();
      log('lab: kube-proxy running on every node (DaemonSet kube-system/kube-proxy)');
      lab.save();
      return lab;
    } catch (e) {
      lab.save();
      throw e;
    }
  }

  private buildNetwork(): void {
    const ip = (args: string[]) => run(['ip', ...args]);
    const inNs = (ns: string, argv: string[]) => run(argv, { netns: ns });
    const sysctl = (ns: string, kv: string[]) => inNs(ns, ['sysctl', '-q', '-w', ...kv]);
    const lan = this.ns('lan');
    const hosts: { role: string; port: string; mac: string; v4: string; v6: string; forward: boolean }[] = [
      {
        role: 'router',
        port: 'rtr',
        mac: '02:1b:00:00:00:01',
        v4: LAB.router.v4,
        v6: LAB.router.v6,
        forward: true,
      },
      {
        role: 'core',
        port: 'core',
        mac: '02:1b:00:00:00:02',
        v4: LAB.core.v4,
        v6: LAB.core.v6,
        forward: false,
      },
      {
        role: 'client',
        port: 'cli',
        mac: '02:1b:00:00:00:64',
        v4: LAB.client.v4,
        v6: LAB.client.v6,
        forward: false,
      },
      ...this.state.nodes.map((n) => ({
        role: `node-${n.index}`,
        port: `n${n.index}`,
        mac: n.mac,
        v4: n.v4,
        v6: n.v6,
        forward: true,
      })),
    ];
    for (const ns of [lan, ...hosts.map((h) => this.ns(h.role)), this.ns('ext')]) {
      ip(['netns', 'add', ns]);
      inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
      // addresses are ours alone in a namespace; kernel DAD would only delay them
      sysctl(ns, ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    }
    inNs(lan, [
      'ip',
      'link',
      'add',
      'br0',
      'type',
      'bridge',
      'stp_state',
      '0',
      'forward_delay',
      '0',
      'mcast_snooping',
      '0',
    ]);
    inNs(lan, ['ip', 'link', 'set', 'br0', 'up']);
    for (const h of hosts) {
      const ns = this.ns(h.role);
      ip([
        'link',
        'add',
        'eth0',
        'netns',
        ns,
        'address',
        h.mac,
        'type',
        'veth',
        'peer',
        'name',
        h.port,
        'netns',
        lan,
      ]);
      inNs(lan, ['ip', 'link', 'set', h.port, 'master', 'br0', 'up']);
      inNs(ns, ['ip', 'addr', 'add', `${h.v4}/${LAB.lan.v4Prefix}`, 'dev', 'eth0']);
      inNs(ns, ['ip', '-6', 'addr', 'add', `${h.v6}/${LAB.lan.v6Prefix}`, 'dev', 'eth0', 'nodad']);
      inNs(ns, ['ip', 'link', 'set', 'eth0', 'up']);
      if (h.forward)
        sysctl(ns, [
          'net.ipv4.ip_forward=1',
          'net.ipv6.conf.all.forwarding=1',
          'net.ipv4.conf.all.rp_filter=0',
          'net.ipv4.conf.default.rp_filter=0',
        ]);
      if (h.role !== 'router') {
        inNs(ns, ['ip', 'route', 'add', 'default', 'via', LAB.router.v4]);
        inNs(ns, ['ip', '-6', 'route', 'add', 'default', 'via', LAB.router.v6]);
      }
    }
    const router = this.ns('router');
    const ext = this.ns('ext');
    ip(['link', 'add', 'eth1', 'netns', router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ext]);
    inNs(router, ['ip', 'addr', 'add', `${LAB.router.extV4}/24`, 'dev', 'eth1']);
    inNs(router, ['ip', '-6', 'addr', 'add', `${LAB.router.extV6}/64`, 'dev', 'eth1', 'nodad']);
    inNs(router, ['ip', 'link', 'set', 'eth1', 'up']);
    inNs(ext, ['ip', 'addr', 'add', `${LAB.ext.v4}/24`, 'dev', 'eth0']);
    inNs(ext, ['ip', '-6', 'addr', 'add', `${LAB.ext.v6}/64`, 'dev', 'eth0', 'nodad']);
    inNs(ext, ['ip', 'link', 'set', 'eth0', 'up']);
    inNs(ext, ['ip', 'route', 'add', 'default', 'via', LAB.router.extV4]);
    inNs(ext, ['ip', '-6', 'route', 'add', 'default', 'via', LAB.router.extV6]);
    // the pod network is routed: the core and the router reach each node's pod range through that node
    for (const role of ['core', 'router']) {
      for (const m of this.state.nodes) {
        inNs(this.ns(role), ['ip', 'route', 'add', m.podCIDRs[0], 'via', m.v4]);
        inNs(this.ns(role), ['ip', '-6', 'route', 'add', m.podCIDRs[1], 'via', m.v6]);
      }
    }
    // every node routes the other nodes' pod ranges through their LAN address
    for (const n of this.state.nodes) {
      for (const m of this.state.nodes) {
        if (m.index === n.index) continue;
        inNs(n.netns, ['ip', 'route', 'add', m.podCIDRs[0], 'via', m.v4]);
        inNs(n.netns, ['ip', '-6', 'route', 'add', m.podCIDRs[1], 'via', m.v6]);
      }
    }
  }

  /** frrDir is where the router's FRR keeps its sockets, pid files, config and logs. */
  get frrDir(): string {
    return join(this.state.dir, 'frr');
  }

  /**
   * renderRouterConfig returns the router's FRR configuration: one eBGP neighbour per node, ECMP on, BFD
   * (profile LAB.bfd) toward every node, and a TCP MD5 password on node LAB.md5Node's session. A BFD session
   * that never came up does not hold BGP back (FRR 8.4 has no strict mode), so nodes without BFD still peer.
   * update-source fixes the BFD source address from the start: without it bgpd re-registers the BFD session
   * when BGP comes up and tears the new session down at once ("Cease/BFD Down").
   */
  renderRouterConfig(): string {
    const neighbors = this.state.nodes.map((n) => ` neighbor ${n.v4} peer-group NODES`).join('\n');
    const md5 = this.state.nodes.find((n) => n.index === LAB.md5Node);
    return `frr defaults datacenter
hostname lab-router
log file ${this.frrDir}/frr.log informational
!
bfd
 profile ${LAB.bfd.profile}
  transmit-interval ${LAB.bfd.intervalMs}
  receive-interval ${LAB.bfd.intervalMs}
  detect-multiplier ${LAB.bfd.multiplier}
 exit
exit
!
router bgp ${LAB.router.asn}
 bgp router-id ${LAB.router.v4}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp bestpath as-path multipath-relax
 neighbor NODES peer-group
 neighbor NODES remote-as ${LAB.nodeASN}
 neighbor NODES timers connect 1
 neighbor NODES update-source ${LAB.router.v4}
${neighbors}
 neighbor NODES bfd profile ${LAB.bfd.profile}
${md5 ? ` neighbor ${md5.v4} password ${LAB.md5Password}\n` : ''} address-family ipv4 unicast
  neighbor NODES activate
  maximum-paths 8
 exit-address-family
 address-family ipv6 unicast
  neighbor NODES activate
  maximum-paths 8
 exit-address-family
!
`;
  }

  /** vtysh runs a vtysh command against the router's FRR and returns its output. */
  async vtysh(command: string): Promise<string> {
    return (await this.exec('router', ['vtysh', '--vty_socket', this.frrDir, '-c', command])).stdout;
  }

  private async startRouter(): Promise<void> {
    const d = this.frrDir;
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
    const frr = run(['id', '-u', 'frr']).stdout.trim();
    const frrGid = run(['id', '-g', 'frr']).stdout.trim();
    chownSync(d, Number(frr), Number(frrGid));
    const conf = join(d, 'frr.conf');
    writeFileSync(conf, this.renderRouterConfig());
    const router = this.ns('router');
    for (const daemon of ['zebra', 'bgpd', 'bfdd']) {
      const empty = join(d, `${daemon}.conf`);
      writeFileSync(empty, '');
      chownSync(empty, Number(frr), Number(frrGid));
      const extra = daemon === 'bfdd' ? ['--bfdctl', join(d, 'bfdd.sock')] : [];
      start(
        [
          `/usr/lib/frr/${daemon}`,
          '-z',
          join(d, 'zserv.api'),
          '--vty_socket',
          d,
          '-i',
          join(d, `${daemon}.pid`),
          '-f',
          empty,
          '-P',
          '0',
          ...extra,
        ],
        { netns: router, log: join(d, `${daemon}.out`), detached: true },
      );
      if (daemon === 'zebra')
        await waitFor('FRR zebra socket', () => existsSync(join(d, 'zserv.api')), {
          log: join(d, 'zebra.out'),
        });
    }
    await waitFor('FRR bgpd vty', () => existsSync(join(d, 'bgpd.vty')) && existsSync(join(d, 'bfdd.vty')), {
      log: join(d, 'bgpd.out'),
    });
    await runAsync(['vtysh', '--vty_socket', d, '-f', conf], { netns: router });
  }

  private async startControlPlane(crdDir: string | null | undefined): Promise<void> {
    const core = this.ns('core');
    this.log('lab: starting the control plane in ' + core);
    const cp = await ControlPlane.start({
      dir: join(this.state.dir, 'cp'),
      netns: core,
      bindAddress: LAB.core.v4,
      detached: true,
      keepDir: true,
      serviceCIDRs: LAB.serviceCIDRs,
      extraSANs: [LAB.core.v6],
      crdDir,
      cluster: { nodeMonitorGracePeriod: LAB.nodeGracePeriod },
      log: this.log,
    });
    this.state.controlPlane = cp.state;
    const labServer = `https://${LAB.core.v4}:${LAB.apiPort}`;
    writeFileSync(this.state.labKubeconfig, kubeconfig(labServer, cp.pki, cp.pki.admin));
    // the root namespace reaches the API server through a unix socket: no route into the lab is needed
    const sock = join(this.state.dir, 'api.sock');
    rmSync(sock, { force: true });
    start(['socat', `UNIX-LISTEN:${sock},fork,mode=600`, `TCP:${LAB.core.v4}:${LAB.apiPort}`], {
      netns: core,
      log: join(this.state.dir, 'logs/forwarder-core.log'),
      detached: true,
    });
    await waitFor('API socket forwarder', () => existsSync(sock));
    const fwd = start(
      ['socat', `TCP-LISTEN:${this.state.hostApiPort},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${sock}`],
      {
        log: join(this.state.dir, 'logs/forwarder-host.log'),
        detached: true,
      },
    );
    this.state.forwarderPid = fwd.pid ?? -1;
    writeFileSync(
      this.state.hostKubeconfig,
      kubeconfig(`https://127.0.0.1:${this.state.hostApiPort}`, cp.pki, cp.pki.admin),
    );
    await waitFor('API server through the host forwarder', async () => {
      await this.api.core.listNamespace();
      return true;
    });
  }

  /** agentSpec is what node n's containerd and kubelet are started with. */
  private agentSpec(n: LabNode): Omit<NodeAgentSpec, 'kubeconfig' | 'caCert'> {
    return {
      name: n.name,
      netns: n.netns,
      v4: n.v4,
      v6: n.v6,
      podCIDRs: n.podCIDRs,
      dir: join(this.state.dir, 'nodes', n.name),
      logDir: join(this.state.dir, 'logs'),
    };
  }

  /**
   * startRuntimes starts containerd in every node and imports the images (it needs no control plane, so it
   * runs while the control plane starts).
   */
  private async startRuntimes(images: LabImage[]): Promise<void> {
    for (const need of [SANDBOX_IMAGE, KUBE_PROXY_IMAGE])
      if (!images.some((i) => i.ref === need)) throw new Error(`The lab's images lack ${need}`);
    this.state.images = images;
    const t0 = Date.now();
    const agents: NodeAgentState[] = [];
    this.state.agents = agents;
    await Promise.all(
      this.state.nodes.map(async (n) => {
        const agent = await startContainerd(this.agentSpec(n));
        agents.push(agent);
        this.save();
        await importImages(agent.socket, images);
      }),
    );
    this.log(
      `lab: containerd running on every node, ${images.length} images imported (${((Date.now() - t0) / 1000).toFixed(1)}s)`,
    );
  }

  /**
   * startKubelets starts every node's kubelet (client certificate system:node:<name> in system:nodes) and waits
   * until every Node is Ready; then gives each Node its pod ranges (the ranges its CNI configuration hands out).
   */
  private async startKubelets(): Promise<void> {
    recordHostSysctls();
    const t0 = Date.now();
    const agents = this.state.agents ?? [];
    for (const n of this.state.nodes) {
      const agent = agents.find((a) => a.name === n.name);
      if (!agent) throw new Error(`Node ${n.name} runs no containerd`);
      startKubelet(
        {
          ...this.agentSpec(n),
          kubeconfig: this.componentKubeconfig(`kubelet-${n.index}`, `system:node:${n.name}`, 'system:nodes'),
          caCert: join(this.state.controlPlane.dir, 'pki', 'ca.crt'),
        },
        agent,
      );
    }
    this.save();
    for (const n of this.state.nodes) {
      const agent = agents.find((a) => a.name === n.name);
      await waitFor(
        `node ${n.name} Ready`,
        async () => {
          if (agent && !alive(agent.kubeletPid)) throw new Error('kubelet exited');
          const node = await this.api.core.readNode({ name: n.name });
          return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        },
        { log: kubeletLog(join(this.state.dir, 'logs'), n.name), timeoutMs: 90_000, intervalMs: 500 },
      );
      await this.api.core.patchNode(
        { name: n.name, body: { spec: { podCIDR: n.podCIDRs[0], podCIDRs: n.podCIDRs } } },
        mergePatch,
      );
    }
    const first = await this.api.core.readNode({ name: this.node(1).name });
    this.log(
      `lab: ${this.state.nodes.length} nodes Ready (kubelet ${first.status?.nodeInfo?.kubeletVersion}, ` +
        `${first.status?.nodeInfo?.containerRuntimeVersion}) in ${((Date.now() - t0) / 1000).toFixed(1)}s`,
    );
  }

  /** loadImages imports images (e.g. a rebuilt tag) into every node's containerd. */
  async loadImages(images: LabImage[]): Promise<void> {
    await Promise.all((this.state.agents ?? []).map((a) => importImages(a.socket, images)));
    const known = new Map((this.state.images ?? []).map((i) => [i.ref, i]));
    for (const i of images) known.set(i.ref, i);
    this.state.images = [...known.values()];
    this.save();
  }

  /** ctr runs containerd's ctr against node i's containerd, namespace k8s.io. */
  async ctr(i: number, args: string[]): Promise<string> {
    const agent = (this.state.agents ?? []).find((a) => a.name === this.node(i).name);
    if (!agent) throw new Error(`Node ${i} runs no containerd`);
    return (await runAsync(['ctr', '-a', agent.socket, '-n', K8S_NAMESPACE, ...args])).stdout;
  }

  /** componentKubeconfig writes (once) a lab kubeconfig for a client-certificate user. */
  componentKubeconfig(name: string, user: string, group?: string): string {
    const pkiDir = join(this.state.controlPlane.dir, 'pki');
    const pki = { dir: pkiDir, caCert: join(pkiDir, 'ca.crt'), caKey: join(pkiDir, 'ca.key') } as Parameters<
      typeof clientCert
    >[0];
    const cert = clientCert(pki, name, user, group);
    const file = join(this.state.dir, `${name}.kubeconfig`);
    writeFileSync(file, kubeconfig(`https://${LAB.core.v4}:${LAB.apiPort}`, pki, cert));
    return file;
  }

  /** startKubeProxies runs kube-proxy as a DaemonSet (kube-system/kube-proxy) and waits for every node's healthz. */
  private async startKubeProxies(): Promise<void> {
    const manifests = kubeProxyManifests({
      server: `https://${LAB.core.v4}:${LAB.apiPort}`,
      clusterCIDRs: LAB.clusterCIDRs,
    });
    await this.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }),
    );
    for (const n of this.state.nodes) {
      await waitFor(
        `kube-proxy on ${n.name} (DaemonSet kube-system/kube-proxy)`,
        async () =>
          (
            await this.exec(
              `node-${n.index}`,
              ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:10256/healthz'],
              { check: false },
            )
          ).stdout === '200',
        { log: kubeletLog(join(this.state.dir, 'logs'), n.name), timeoutMs: 60_000 },
      );
    }
  }

  /**
   * addPod creates a real Pod pinned to node `node` and waits until it is Ready (a TCP readiness probe on
   * `port`). Without argv, and when the lab has the echo image, the Pod runs the echo app's container. With argv
   * (or no echo image) the Pod's container is the sandbox image holding the pod's network namespace and the
   * server is a lab process in that namespace (LabPod.pid), until its callers run images of their own. Either
   * way the pod's network namespace is also named LabPod.netns in the root namespace.
   */
  async addPod(spec: {
    namespace: string;
    name: string;
    node: number;
    labels: Record<string, string>;
    port?: number;
    argv?: string[];
    env?: Record<string, string>;
  }): Promise<LabPod> {
    const n = this.node(spec.node);
    const seq = ++this.state.podSeq;
    const netns = `${this.state.prefix}pod-${n.index}-${seq}`;
    const port = spec.port ?? 8080;
    const what = `pod "${spec.namespace}/${spec.name}" on ${n.name}`;
    const logFile = join(this.state.dir, 'logs', `pod-${spec.namespace}-${spec.name}.log`);
    await ensureNamespace(this.api, spec.namespace);
    const echo = spec.argv
      ? undefined
      : (this.state.images ?? []).find((i) => i.ref.startsWith(`${ECHO_IMAGE}:`));
    const probe = { tcpSocket: { port }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1 };
    const container: k8s.V1Container = echo
      ? {
          name: 'app',
          image: echo.ref,
          imagePullPolicy: 'Never',
          env: [
            { name: 'PORT', value: String(port) },
            { name: 'POD_NAME', value: spec.name },
            { name: 'POD_NAMESPACE', value: spec.namespace },
            { name: 'NODE_NAME', value: n.name },
            ...Object.entries(spec.env ?? {}).map(([name, value]) => ({ name, value })),
          ],
          ports: [{ containerPort: port, protocol: 'TCP' }],
          readinessProbe: probe,
        }
      : {
          name: 'app',
          image: SANDBOX_IMAGE,
          imagePullPolicy: 'Never',
          ports: [{ containerPort: port, protocol: 'TCP' }],
          readinessProbe: probe,
        };
    const body: k8s.V1Pod = {
      metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels },
      spec: {
        nodeName: n.name,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        terminationGracePeriodSeconds: 0,
        containers: [container],
      },
    };
    // a namespace made a moment ago may not have its "default" ServiceAccount yet: admission refuses until then
    await waitFor(`${what} created`, async () => {
      try {
        await this.api.core.createNamespacedPod({ namespace: spec.namespace, body });
        return true;
      } catch (e) {
        if (e instanceof k8s.ApiException && e.code === 403 && /serviceaccount/i.test(String(e.body)))
          return false;
        throw e;
      }
    }).catch((e: unknown) => {
      throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
    });
    const kubelet = kubeletLog(join(this.state.dir, 'logs'), n.name);
    const running = await waitFor(
      `${what} running`,
      async () => {
        const p = await this.api.core.readNamespacedPod({ name: spec.name, namespace: spec.namespace });
        const cs = p.status?.containerStatuses?.[0];
        const waiting = cs?.state?.waiting;
        if (waiting?.reason && !/ContainerCreating|PodInitializing/.test(waiting.reason))
          throw new Error(`${waiting.reason}: ${waiting.message ?? ''}`);
        return cs?.state?.running && cs.containerID && (p.status?.podIPs?.length ?? 0) >= 2 ? p : undefined;
      },
      { log: kubelet, timeoutMs: 60_000, intervalMs: 250 },
    );
    const status = running.status ?? {};
    const ipList = (status.podIPs ?? []).map((a) => a.ip);
    const ips: [string, string] = [
      ipList.find((a) => !a.includes(':')) ?? '',
      ipList.find((a) => a.includes(':')) ?? '',
    ];
    const containerID = (status.containerStatuses?.[0]?.containerID ?? '').replace(/^containerd:\/\//, '');
    const tasks = await this.ctr(n.index, ['tasks', 'ls']);
    const pidOf = tasks
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .find((f) => f[0] === containerID)?.[1];
    if (!pidOf) throw new Error(`${what}: container ${containerID} has no task in containerd`);
    run(['ip', 'netns', 'attach', netns, pidOf]);
    const argv = spec.argv ?? [nodeBin, join(repoRoot, 'test/lab/echo.ts'), `--port=${port}`];
    const child = echo
      ? undefined
      : start(argv, {
          netns,
          log: logFile,
          detached: true,
          env: {
            ...process.env,
            POD_NAME: spec.name,
            POD_NAMESPACE: spec.namespace,
            NODE_NAME: n.name,
            POD_IPS: ips.join(','),
            ...spec.env,
          },
        });
    const pod: LabPod = {
      namespace: spec.namespace,
      name: spec.name,
      node: n.index,
      netns,
      ips,
      hostVeth: '',
      pid: child?.pid ?? -1,
      labels: spec.labels,
    };
    this.state.pods.push(pod);
    this.save();
    if (child)
      await waitFor(
        `${what} listening on ${port}`,
        async () => {
          if (!alive(pod.pid)) throw new Error('process exited');
          return (await runAsync(['ss', '-Htln', `sport = :${port}`], { netns })).stdout.trim().length > 0;
        },
        { log: logFile },
      );
    await waitFor(
      `${what} Ready`,
      async () => {
        const p = await this.api.core.readNamespacedPod({ name: spec.name, namespace: spec.namespace });
        return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      },
      { log: kubelet, timeoutMs: 30_000, intervalMs: 250 },
    );
    return pod;
  }

  /** removePod deletes the Pod, stops its lab process and removes its namespace's name. */
  async removePod(pod: LabPod): Promise<void> {
    try {
      await this.api.core.deleteNamespacedPod({
        name: pod.name,
        namespace: pod.namespace,
        gracePeriodSeconds: 0,
      });
    } catch {
      /* already gone */
    }
    await removeNamespaces([pod.netns]);
    this.state.pods = this.state.pods.filter((p) => p.netns !== pod.netns);
    this.save();
  }

  /** startProcess starts a long-lived process in a role's namespace, detached, logging to logs/<name>.log. */
  startProcess(role: string, name: string, argv: string[], env?: NodeJS.ProcessEnv): number {
    const child = start(argv, {
      netns: this.ns(role),
      log: join(this.state.dir, 'logs', `${name}.log`),
      detached: true,
      env: { ...process.env, ...env },
    });
    return child.pid ?? -1;
  }

  /** down stops every lab process and removes every lab namespace; keeps the state directory's logs. */
  async down(): Promise<void> {
    await Lab.cleanup({ dir: this.state.dir, prefix: this.state.prefix });
    await sleep(0);
  }
}
