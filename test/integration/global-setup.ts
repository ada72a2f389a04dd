// One real control plane (etcd + kube-apiserver + kube-controller-manager, CRDs from deploy/crds) for the
// whole integration run; tests get its admin kubeconfig with inject('kubeconfig').
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ControlPlane } from '../harness/controlplane.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    /** pkiDir holds the control plane's CA (ca.crt, ca.key): tests issue serving certificates from it. */
    pkiDir: string;
    /** apiServer is the API server's URL. */
    apiServer: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'ironlb-int-'));
  const cp = await ControlPlane.start({ dir, log: (m) => console.log(m) });
  project.provide('kubeconfig', cp.kubeconfig);
  project.provide('pkiDir', cp.pki.dir);
  project.provide('apiServer', cp.server);
  return async () => {
    await cp.stop();
  };
}
