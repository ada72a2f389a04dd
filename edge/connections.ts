// One connection pool per process for every API request. @kubernetes/client-node 2.0 builds a new undici Agent
// for each request (KubeConfig.applySecurityAuthentication → createDispatcher, not cached): a fresh TCP and TLS
// handshake per call, and a kept-alive socket left behind in a pool nobody uses again. Measured with
// bench/controller.bench.ts: 16 ms of controller CPU and ~0.5 MiB of peak RSS per Service created, 491 MiB for
// a burst of 1,000 Services (the Deployment's limit is 512Mi), and 5× the API server's CPU for the handshakes.
import { KubeConfig as KubeConfigClass, type KubeConfig } from '@kubernetes/client-node';

/**
 * reuseConnections makes every client made from kc share one dispatcher (one keep-alive pool per API server).
 * The dispatcher depends only on the cluster and user of kc, which do not change in a running process; bearer
 * tokens are headers, applied per request as before. Leaves kc as it is if the library no longer has the hook.
 */
export function reuseConnections(kc: KubeConfig): void {
  const k = kc as unknown as { createDispatcher?: (...args: unknown[]) => unknown };
  const create = k.createDispatcher?.bind(kc);
  if (typeof create !== 'function') return;
  let shared: unknown;
  k.createDispatcher = (...args: unknown[]) => (shared ??= create(...args));
}

/**
 * loadKubeConfig loads a kubeconfig file, or the in-cluster configuration when path is unset, with one
 * connection pool for every client made from it (reuseConnections).
 */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfigClass();
  if (path) kc.loadFromFile(path);
  else kc.loadFromCluster();
  reuseConnections(kc);
  return kc;
}
