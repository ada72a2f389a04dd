// A real Kubernetes control plane for tests and the lab: etcd (Debian), kube-apiserver,
// kube-controller-manager and (for a cluster with kubelets) kube-scheduler, built from the k8s.io/kubernetes
// module; client-certificate auth, RBAC, service-account keys, the CRDs from deploy/crds installed. Every
// process is tracked by pid and stopped, and the data directory removed, by stop().
import { mkdirSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { alive, run, runAsync, start, stopPid, waitFor } from './exec.ts';
import { clientCert, kubeconfig, makePki, type Pki } from './certs.ts';
import { k8sBin, repoRoot } from './paths.ts';

/** ControlPlaneOptions: where the control plane lives and listens. */
export interface ControlPlaneOptions {
  /** dir holds data, certificates, logs and kubeconfigs; removed by stop() unless keepDir. */
  dir: string;
  /** bindAddress of the API server (default 127.0.0.1). */
  bindAddress?: string;
  /** netns runs every process inside this network namespace. */
  netns?: string;
  /** apiPort and etcdPort default to free ports on loopback (or 6443/2379 inside a namespace). */
  apiPort?: number;
  etcdPort?: number;
  /** detached processes outlive the calling process (the lab). */
  detached?: boolean;
  /** crdDir is applied once the API server is ready (default deploy/crds when it exists). */
  crdDir?: string | null;
  /**
   * extraCrdDirs are applied after crdDir (default: the vendored Gateway API CRDs,
   * deploy/gateway-api/standard, which `kubectl apply -k deploy` installs too; [] skips them).
   */
  extraCrdDirs?: string[];
  /** serviceCIDRs for ClusterIPs, comma-separated (default dual-stack). */
  serviceCIDRs?: string;
  keepDir?: boolean;
  /** extra IP addresses for the serving certificate. */
  extraSANs?: string[];
  /**
   * cluster runs what a cluster with real kubelets needs: kube-scheduler, every default controller of
   * kube-controller-manager (node lifecycle with nodeMonitorGracePeriod), the Node authorizer and the
   * NodeRestriction and ServiceAccount admission plugins, a client certificate for the API server to reach
   * kubelets, and webhooks called at their pods' addresses (aggregator routing). Without it (integration tests) only the controllers the API-only tests need run.
   */
  cluster?: { nodeMonitorGracePeriod: string };
  log?: (msg: string) => void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** ControlPlaneState is what a running control plane is: enough to reattach to it or stop it later. */
export interface ControlPlaneState {
  dir: string;
  netns?: string;
  server: string;
  kubeconfig: string;
  pids: { etcd: number; apiserver: number; controllerManager: number; scheduler?: number };
}

/** kcmControllers are the controllers an API-only control plane runs (no nodes, no workloads). */
const apiOnlyControllers = [
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'namespace-controller',
  'garbage-collector-controller',
  'serviceaccount-controller',
];

/** ControlPlane is a running etcd + kube-apiserver + kube-controller-manager. */
export class ControlPlane {
  readonly state: ControlPlaneState;
  readonly pki: Pki;
  readonly keepDir: boolean;

  private constructor(state: ControlPlaneState, pki: Pki, keepDir: boolean) {
    this.state = state;
    this.pki = pki;
    this.keepDir = keepDir;
  }

  /** server is the API server's URL. */
  get server(): string {
    return this.state.server;
  }

  /** kubeconfig is the path of an admin kubeconfig (system:masters). */
  get kubeconfig(): string {
    return this.state.kubeconfig;
  }

  /** start brings up etcd, kube-apiserver and kube-controller-manager and waits until the API is ready. */
  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const log = options.log ?? (() => {});
    const dir = options.dir;
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const bind = options.bindAddress ?? '127.0.0.1';
    const apiPort = options.apiPort ?? (options.netns ? 6443 : await freePort());
    const etcdPort = options.etcdPort ?? (options.netns ? 2379 : await freePort());
    const etcdPeerPort = options.netns ? 2380 : await freePort();
    const pki = makePki(join(dir, 'pki'), {
      ips: [bind, '127.0.0.1', '10.96.0.1', ...(options.extraSANs ?? [])],
    });
    const server = `https://${bind}:${apiPort}`;
    const adminKubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(adminKubeconfig, kubeconfig(server, pki, pki.admin));
    const componentKubeconfig = (name: string, user: string): string => {
      const file = join(dir, `${name}.kubeconfig`);
      writeFileSync(file, kubeconfig(server, pki, clientCert(pki, name, user)));
      return file;
    };
    const kcmKubeconfig = componentKubeconfig('kcm', 'system:kube-controller-manager');
    const cluster = options.cluster;
    // the API server's identity toward kubelets (logs, exec, port-forward), as kubeadm issues it
    const kubeletClient = cluster
      ? clientCert(pki, 'apiserver-kubelet-client', 'kube-apiserver-kubelet-client', 'system:masters')
      : undefined;
    const common = { netns: options.netns, detached: options.detached ?? false };

    log(`control plane: starting etcd on 127.0.0.1:${etcdPort}`);
    const etcdLog = join(dir, 'logs/etcd.log');
    const etcd = start(
      [
        '/usr/bin/etcd',
        '--name',
        'core',
        '--data-dir',
        join(dir, 'etcd'),
        '--listen-client-urls',
        `http://127.0.0.1:${etcdPort}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${etcdPort}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${etcdPeerPort}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${etcdPeerPort}`,
        '--initial-cluster',
        `core=http://127.0.0.1:${etcdPeerPort}`,
        '--snapshot-count',
        '10000',
        '--log-level',
        'warn',
      ],
      { ...common, log: etcdLog, env: { ...process.env, ETCD_UNSUPPORTED_ARCH: '' } },
    );
    const pids: ControlPlaneState['pids'] = { etcd: etcd.pid ?? -1, apiserver: -1, controllerManager: -1 };
    const cp = new ControlPlane(
      { dir, netns: options.netns, server, kubeconfig: adminKubeconfig, pids },
      pki,
      options.keepDir ?? false,
    );
    try {
      await waitFor(
        'etcd',
        () =>
          run(['curl', '-sf', `http://127.0.0.1:${etcdPort}/health`], { netns: options.netns, check: false })
            .code === 0,
        { log: etcdLog, timeoutMs: 30_000 },
      );

      log(`control plane: starting kube-apiserver on ${server}`);
      const apiLog = join(dir, 'logs/kube-apiserver.log');
      const api = start(
        [
          k8sBin('kube-apiserver'),
          `--etcd-servers=http://127.0.0.1:${etcdPort}`,
          `--bind-address=${bind}`,
          `--advertise-address=${bind}`,
          `--secure-port=${apiPort}`,
          `--tls-cert-file=${pki.serverCert}`,
          `--tls-private-key-file=${pki.serverKey}`,
          `--client-ca-file=${pki.caCert}`,
          `--authorization-mode=${cluster ? 'Node,RBAC' : 'RBAC'}`,
          ...(kubeletClient
            ? [
                '--enable-admission-plugins=NodeRestriction',
                `--kubelet-client-certificate=${kubeletClient.cert}`,
                `--kubelet-client-key=${kubeletClient.key}`,
                '--kubelet-preferred-address-types=InternalIP,Hostname',
                // admission webhooks (and aggregated APIs) are called at a ready endpoint's pod address, which
                // the core routes through its node; the core runs no kube-proxy to reach a ClusterIP
                '--enable-aggregator-routing=true',
              ]
            : ['--disable-admission-plugins=ServiceAccount']),
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${pki.saPub}`,
          `--service-account-signing-key-file=${pki.saKey}`,
          `--service-cluster-ip-range=${options.serviceCIDRs ?? '10.96.0.0/16,fd00:10:96::/112'}`,
          '--service-node-port-range=30000-32767',
          '--allow-privileged=true',
          `--cert-dir=${join(dir, 'pki')}`,
          '--enable-priority-and-fairness=false',
          '--profiling=false',
          '--v=1',
        ],
        { ...common, log: apiLog },
      );
      pids.apiserver = api.pid ?? -1;
      await waitFor(
        'kube-apiserver /readyz',
        () => {
          if (!alive(pids.apiserver)) throw new Error('kube-apiserver exited');
          return (
            run(
              [
                'curl',
                '-sf',
                '--cacert',
                pki.caCert,
                '--cert',
                pki.admin.cert,
                '--key',
                pki.admin.key,
                `${server}/readyz`,
              ],
              { netns: options.netns, check: false },
            ).stdout === 'ok'
          );
        },
        { log: apiLog, timeoutMs: 90_000, intervalMs: 300 },
      );

      log(
        cluster
          ? `control plane: starting kube-controller-manager (all controllers, node grace period ${cluster.nodeMonitorGracePeriod}) and kube-scheduler`
          : 'control plane: starting kube-controller-manager (endpointslice, namespace, garbage collector)',
      );
      const kcmLog = join(dir, 'logs/kube-controller-manager.log');
      const kcm = start(
        [
          k8sBin('kube-controller-manager'),
          `--kubeconfig=${kcmKubeconfig}`,
          '--leader-elect=false',
          '--secure-port=0',
          `--controllers=${cluster ? '*' : apiOnlyControllers.join(',')}`,
          ...(cluster
            ? [
                `--node-monitor-grace-period=${cluster.nodeMonitorGracePeriod}`,
                '--node-monitor-period=1s',
                `--cluster-signing-cert-file=${pki.caCert}`,
                `--cluster-signing-key-file=${pki.caKey}`,
              ]
            : []),
          '--use-service-account-credentials=true',
          `--root-ca-file=${pki.caCert}`,
          `--service-account-private-key-file=${pki.saKey}`,
          '--v=1',
        ],
        { ...common, log: kcmLog },
      );
      pids.controllerManager = kcm.pid ?? -1;
      if (cluster) {
        const schedKubeconfig = componentKubeconfig('scheduler', 'system:kube-scheduler');
        const sched = start(
          [
            k8sBin('kube-scheduler'),
            `--kubeconfig=${schedKubeconfig}`,
            '--leader-elect=false',
            '--secure-port=0',
            '--v=1',
          ],
          { ...common, log: join(dir, 'logs/kube-scheduler.log') },
        );
        pids.scheduler = sched.pid ?? -1;
      }

      const crdDir = options.crdDir === undefined ? join(repoRoot, 'deploy/crds') : options.crdDir;
      const crdDirs = [
        crdDir,
        ...(options.extraCrdDirs ?? [join(repoRoot, 'deploy/gateway-api/standard')]),
      ].filter((d): d is string => !!d && existsSync(d) && readdirSync(d).some((f) => f.endsWith('.yaml')));
      for (const d of crdDirs) {
        log(`control plane: installing CRDs from ${d}`);
        await cp.kubectl(['apply', '--server-side', '-f', d]);
      }
      if (crdDirs.length > 0)
        await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
      writeFileSync(join(dir, 'state.json'), JSON.stringify(cp.state, null, 2));
      return cp;
    } catch (e) {
      await cp.stop();
      throw e;
    }
  }

  /** kubectl runs the cached kubectl against this control plane as admin (from the caller's namespace). */
  async kubectl(args: string[], input?: string): Promise<string> {
    const r = await runAsync([k8sBin('kubectl'), `--kubeconfig=${this.kubeconfig}`, ...args], {
      input,
      netns: this.state.netns,
    });
    return r.stdout;
  }

  /** stop ends every process by pid (TERM, then KILL) and removes the directory unless keepDir. */
  async stop(): Promise<void> {
    const { pids } = this.state;
    await Promise.all(
      [pids.scheduler ?? -1, pids.controllerManager, pids.apiserver]
        .filter((p) => p > 0)
        .map((p) => stopPid(p, 3000)),
    );
    if (pids.etcd > 0) await stopPid(pids.etcd, 3000);
    if (!this.keepDir) rmSync(this.state.dir, { recursive: true, force: true });
  }
}
