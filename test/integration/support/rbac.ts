// The controller as deployed, as far as the API server's authorization goes: the RBAC of
// deploy/rbac/controller.yaml created for a test's namespace, and a kubeconfig whose user is the controller's
// ServiceAccount there (RBAC matches a ServiceAccount subject by user name, so a client certificate with that
// name is the account). Cluster-scoped objects get names unique to the namespace; removeDeployRbac deletes them.
import * as k8s from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { clientCert, kubeconfig as renderKubeconfig, type Pki } from '../../harness/certs.ts';
import { isNotFound, type Clients } from '../../harness/kube.ts';
import { repoRoot } from '../../harness/paths.ts';
import { startController } from './controller.ts';
import { TestEnv, type PoolSpec } from './objects.ts';
import { trackEnv, type World } from './world.ts';

/** RbacRule is one rule of a Role or ClusterRole. */
export interface RbacRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: RbacRule[];
  roleRef?: { name: string };
  subjects?: Array<{ namespace?: string }>;
}

const clusterScoped: Array<{ kc: k8s.KubeConfig; kind: string; name: string }> = [];
/** dirs hold the accounts' client keys and kubeconfigs. */
const dirs: string[] = [];

/** controllerUser is the user name of the controller's ServiceAccount in namespace ns. */
export function controllerUser(ns: string): string {
  return `system:serviceaccount:${ns}:ironlb-controller`;
}

/** deployDocs reads deploy/rbac/controller.yaml. */
function deployDocs(): Doc[] {
  const file = join(repoRoot, 'deploy/rbac/controller.yaml');
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Doc);
}

/**
 * restoreDeployRole replaces the rules of the namespaced Role applyDeployRbac made in `ns` with those of
 * deploy/ (what an operator does with `kubectl apply -k deploy` after running older RBAC).
 */
export async function restoreDeployRole(c: Clients, ns: string): Promise<void> {
  const rbac = c.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const role = deployDocs().find((d) => d.kind === 'Role');
  if (!role) throw new Error('no Role in deploy/rbac/controller.yaml');
  await rbac.patchNamespacedRole(
    { name: role.metadata.name, namespace: ns, body: { rules: role.rules } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

/**
 * applyDeployRbac creates the controller's RBAC from deploy/ for namespace `ns`, each rule passed through
 * `rules` first (a test may take a permission away; undefined drops the rule), and returns the path of a
 * kubeconfig for the account.
 */
export async function applyDeployRbac(
  c: Clients,
  ns: string,
  cluster: { pkiDir: string; apiServer: string },
  rules: (rule: RbacRule) => RbacRule | undefined = (r) => r,
): Promise<string> {
  const rbac = c.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  for (const d of deployDocs()) {
    if (d.kind === 'ServiceAccount') continue;
    for (const s of d.subjects ?? []) s.namespace = ns;
    if (d.rules) d.rules = d.rules.flatMap((r) => rules(r) ?? []);
    if (d.kind === 'ClusterRole' || d.kind === 'ClusterRoleBinding') {
      d.metadata.name = `${d.metadata.name}:${ns}`;
      if (d.roleRef) d.roleRef.name = `${d.roleRef.name}:${ns}`;
      clusterScoped.push({ kc: c.kc, kind: d.kind, name: d.metadata.name });
    } else d.metadata.namespace = ns;
    if (d.kind === 'ClusterRole') await rbac.createClusterRole({ body: d as k8s.V1ClusterRole });
    else if (d.kind === 'ClusterRoleBinding')
      await rbac.createClusterRoleBinding({ body: d as k8s.V1ClusterRoleBinding });
    else if (d.kind === 'Role') await rbac.createNamespacedRole({ namespace: ns, body: d as k8s.V1Role });
    else if (d.kind === 'RoleBinding')
      await rbac.createNamespacedRoleBinding({ namespace: ns, body: d as k8s.V1RoleBinding });
    else throw new Error(`unexpected ${d.kind} in deploy/rbac/controller.yaml`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ironlb-sa-'));
  dirs.push(dir);
  const pki = {
    dir,
    caCert: join(cluster.pkiDir, 'ca.crt'),
    caKey: join(cluster.pkiDir, 'ca.key'),
  } as Pki;
  const cert = clientCert(pki, 'controller', controllerUser(ns));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, renderKubeconfig(cluster.apiServer, pki, cert));
  return kubeconfig;
}

/**
 * removeDeployRbac deletes the cluster-scoped objects applyDeployRbac made (namespaced ones go with their
 * namespace) and the accounts' key files.
 */
export async function removeDeployRbac(): Promise<void> {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const o of clusterScoped.splice(0)) {
    const rbac = o.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    try {
      if (o.kind === 'ClusterRole') await rbac.deleteClusterRole({ name: o.name });
      else await rbac.deleteClusterRoleBinding({ name: o.name });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/**
 * deployedWorld is world() (support/world.ts) with the controller as deployed: the story's namespaces and pools,
 * the controller's RBAC from deploy/ (through `rules`), and a controller running as its ServiceAccount.
 */
export async function deployedWorld(
  c: Clients,
  id: string,
  pools: Record<string, PoolSpec>,
  cluster: { pkiDir: string; apiServer: string },
  rules?: (rule: RbacRule) => RbacRule | undefined,
): Promise<World> {
  const env = trackEnv(await new TestEnv(c, id).create());
  for (const [name, spec] of Object.entries(pools)) await env.pool(name, spec);
  const kubeconfig = await applyDeployRbac(c, env.configNs, cluster, rules);
  const ctl = await startController({
    kubeconfig,
    namespace: env.configNs,
    lbClass: env.lbClass,
    waitLeader: true,
  });
  env.log = ctl.log;
  return { env, ctl };
}
