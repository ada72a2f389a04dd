// Where things are: the repository, the project's Node.js, the Kubernetes binaries cache.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './exec.ts';

/** repoRoot is the repository's top folder. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** nodeBin is the project's Node.js (installed by scripts/setup.sh), else the one running this code. */
export const nodeBin = existsSync(join(repoRoot, '.tools/bin/node'))
  ? join(repoRoot, '.tools/bin/node')
  : process.execPath;

let k8sDir: string | undefined;

/** k8sBin returns the path of a Kubernetes binary from the cache, throwing with the fix when it is missing. */
export function k8sBin(
  name:
    'kube-apiserver' | 'kube-controller-manager' | 'kube-proxy' | 'kube-scheduler' | 'kubelet' | 'kubectl',
): string {
  k8sDir ??=
    process.env.IRONLB_K8S_BIN ?? run([join(repoRoot, 'scripts/build-k8s.sh'), '--print-dir']).stdout.trim();
  const p = join(k8sDir, name);
  if (!existsSync(p))
    throw new Error(`Kubernetes binary "${p}" is missing: run "make k8s" (scripts/build-k8s.sh)`);
  return p;
}
