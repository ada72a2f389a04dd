// One story's world: fresh namespaces (Services, config), pools, and a controller process serving only the
// story's loadBalancerClass. Everything made here is removed by endWorlds() in afterAll.
import { waitFor } from '../../harness/exec.ts';
import { clients, type Clients } from '../../harness/kube.ts';
import {
  removeControllerLogs,
  startController,
  stopAllControllers,
  type ControllerOptions,
  type ControllerProcess,
} from './controller.ts';
import { TestEnv, type PoolSpec } from './objects.ts';

const envs: TestEnv[] = [];

/** World is a story's namespaces and controller. */
export interface World {
  env: TestEnv;
  ctl: ControllerProcess;
}

/** worldClients returns the admin clients for the integration control plane. */
export function worldClients(kubeconfig: string): Clients {
  return clients(kubeconfig);
}

/**
 * world creates the namespaces of story `id`, the pools (before the controller starts, so its first parse
 * sees them) and starts a controller on the config namespace with the story's class, waiting until it leads.
 */
export async function world(
  c: Clients,
  kubeconfig: string,
  id: string,
  pools: Record<string, PoolSpec>,
  options: Partial<ControllerOptions> = {},
): Promise<World> {
  const env = await new TestEnv(c, id).create();
  envs.push(env);
  for (const [name, spec] of Object.entries(pools)) await env.pool(name, spec);
  const ctl = await startController({
    kubeconfig,
    namespace: env.configNs,
    lbClass: env.lbClass,
    waitLeader: true,
    ...options,
  });
  env.log = ctl.log;
  return { env, ctl };
}

/** trackEnv registers an env made outside world() for cleanup. */
export function trackEnv(env: TestEnv): TestEnv {
  envs.push(env);
  return env;
}

/** endWorlds stops every controller and deletes every namespace this file made. */
export async function endWorlds(): Promise<void> {
  await stopAllControllers();
  for (const env of envs.splice(0)) await env.destroy();
  removeControllerLogs();
}

/**
 * allReconciled waits until the controller has reconciled at least as many Services as the cluster holds now
 * (it reconciles every Service once when it starts leading; other classes end at once).
 */
export async function allReconciled(c: Clients, ctl: ControllerProcess): Promise<void> {
  const total = (await c.core.listServiceForAllNamespaces()).items.length;
  await waitFor(
    `"${ctl.identity}" to reconcile ${total} Services`,
    async () => ((await ctl.metric('ironlb_controller_reconciles_total', { result: 'ok' })) ?? 0) >= total,
    { timeoutMs: 30_000, intervalMs: 100, log: ctl.log },
  );
}
