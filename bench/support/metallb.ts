// MetalLB's controller as a benchmark baseline, run beside IronLB's on the same kind of control plane: the
// binary is built once from the Go module proxy (go.universe.tf/metallb, the tagged release) into the cache, and
// started against a bench control plane with its webhook off and the ConfigurationState CRD it reports to
// (IronLB's deploy/crds does not serve that kind).
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane } from '../../test/harness/controlplane.ts';
import { run, start, stopPid, waitFor } from '../../test/harness/exec.ts';
import { freePort } from '../../test/integration/support/controller.ts';

/** METALLB_VERSION is the release the benchmarks compare against. */
export const METALLB_VERSION = 'v0.16.1';
const MODULE = 'go.universe.tf/metallb';

/**
 * metallbController returns the path of MetalLB's controller binary, building it first when the cache
 * (~/.cache/ironlb/metallb/<version>/controller, or $IRONLB_CACHE) does not hold it: `go mod download` of the
 * release, then `go build ./controller` in the module (CGO off, as MetalLB's image builds it). Throws with go's
 * output when the build fails.
 */
export function metallbController(log: (m: string) => void): string {
  const cache = process.env.IRONLB_CACHE ?? join(homedir(), '.cache/ironlb');
  const dir = join(cache, 'metallb', METALLB_VERSION);
  const bin = join(dir, 'controller');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  log(`building MetalLB ${METALLB_VERSION}'s controller from the Go module proxy (once; a few minutes)`);
  const src = moduleDir();
  // run() throws with go's own message when the build fails
  run(['bash', '-c', `cd "${src}" && CGO_ENABLED=0 go build -trimpath -o "${bin}" ./controller`], {
    timeoutMs: 30 * 60_000,
  });
  return bin;
}

/** moduleDir downloads the release's module (a no-op once cached) and returns its read-only source folder. */
export function moduleDir(): string {
  const dl = run(['go', 'mod', 'download', '-json', `${MODULE}@${METALLB_VERSION}`], {
    timeoutMs: 10 * 60_000,
  });
  const dir = (JSON.parse(dl.stdout) as { Dir?: string }).Dir;
  if (!dir) throw new Error(`Cannot download ${MODULE}@${METALLB_VERSION}: ${dl.stdout}`);
  return dir;
}

/** MetalLBProcess is one running MetalLB controller. */
export interface MetalLBProcess {
  readonly pid: number;
  readonly log: string;
  stop(): Promise<void>;
}

/**
 * startMetalLB runs MetalLB's controller against cp, watching pools in namespace, and resolves once its health
 * endpoint answers /readyz. It creates what the controller expects to find in a cluster: its own Pod object (for
 * owner references; no kubelet runs it) and the ConfigurationState CRD with the object it patches.
 */
export async function startMetalLB(
  cp: ControlPlane,
  o: { namespace: string; binary: string; logDir: string; env?: Record<string, string> },
): Promise<MetalLBProcess> {
  const crd = join(moduleDir(), 'config/crd/bases/metallb.io_configurationstates.yaml');
  await cp.kubectl(['apply', '-f', crd]);
  await cp.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/configurationstates.metallb.io',
  ]);
  const pod = 'metallb-controller';
  await cp.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: pod, namespace: o.namespace },
          spec: {
            containers: [{ name: 'controller', image: `quay.io/metallb/controller:${METALLB_VERSION}` }],
          },
        },
        {
          apiVersion: 'metallb.io/v1beta1',
          kind: 'ConfigurationState',
          metadata: { name: 'controller', namespace: o.namespace },
        },
      ],
    }),
  );
  const [metricsPort, healthPort] = [await freePort(), await freePort()];
  const log = join(o.logDir, `metallb-${healthPort}.log`);
  const child = start(
    [
      o.binary,
      `--namespace=${o.namespace}`,
      `--pod-name=${pod}`,
      '--webhook-mode=disabled',
      '--disable-cert-rotation',
      `--port=${metricsPort}`,
      `--health-probe-port=${healthPort}`,
      '--log-level=info',
    ],
    { log, env: { ...process.env, KUBECONFIG: cp.kubeconfig, ...o.env } },
  );
  const pid = child.pid ?? -1;
  await waitFor(
    `MetalLB's controller /readyz`,
    async () => {
      const r = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
      return r?.ok ? true : undefined;
    },
    { timeoutMs: 60_000, log },
  );
  return { pid, log, stop: () => stopPid(pid) };
}
