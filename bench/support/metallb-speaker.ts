// MetalLB's speaker as a benchmark baseline on the real-node lab (bench/speaker-memory.bench.ts): the DaemonSet,
// its ServiceAccount and RBAC, its exclusion ConfigMap and the ConfigurationState CRD taken from the release's own
// manifest (config/manifests/metallb-native.yaml: native L2/BGP mode, memberlist), with the image built here
// (scripts/build-images.sh metallb-speaker: the speaker from the Go module proxy) and the memberlist Secret its
// controller would create. It runs in its own namespace with its own pool, so IronLB's lab configuration (BFD,
// graceful restart, IPv6 BGP pools: refused by MetalLB's native mode) is not in its way.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { buildImages, type ImageArchive } from '../../test/harness/images.ts';
import { METALLB_VERSION, moduleDir } from './metallb.ts';

/** METALLB_NAMESPACE is where the release's manifest puts MetalLB. */
export const METALLB_NAMESPACE = 'metallb-system';
/** METALLB_SPEAKER is the DaemonSet's name and its pods' selector, as the release's manifest has them. */
export const METALLB_SPEAKER = { name: 'speaker', selector: 'app=metallb,component=speaker' };
const IMAGE = `localhost/metallb-speaker:${METALLB_VERSION}`;

/** metallbSpeakerImage builds (or finds in the cache) the speaker's image, ready for Lab.loadImages. */
export async function metallbSpeakerImage(log: (m: string) => void): Promise<ImageArchive[]> {
  const built = await buildImages({ images: ['metallb-speaker'], progress: (l) => log(`  ${l}`) });
  const image = built.filter((i) => i.ref === IMAGE);
  if (image.length === 0) throw new Error(`scripts/build-images.sh metallb-speaker printed no ${IMAGE}`);
  return image;
}

/** KEEP are the objects of metallb-native.yaml the speaker needs (the controller and its webhook left out). */
const KEEP = new Set([
  'Namespace/metallb-system',
  'ServiceAccount/speaker',
  'Role/pod-lister',
  'ClusterRole/metallb-system:speaker',
  'RoleBinding/pod-lister',
  'ClusterRoleBinding/metallb-system:speaker',
  'ConfigMap/metallb-excludel2',
  'DaemonSet/speaker',
]);

/** CRD is the ConfigurationState CRD file (the lab's deploy/crds does not serve that kind; the speaker writes it). */
export const metallbConfigurationStateCrd = (): string =>
  join(moduleDir(), 'config/crd/bases/metallb.io_configurationstates.yaml');

/**
 * metallbSpeakerManifests returns MetalLB's speaker as its release deploys it (native mode), as YAML: the image
 * built here (never pulled) and the memberlist Secret added; apply metallbConfigurationStateCrd() first. The
 * RoleBinding keeps only the speaker's subject (no controller runs).
 */
export function metallbSpeakerManifests(): string {
  const file = join(moduleDir(), 'config/manifests/metallb-native.yaml');
  const all = k8s.loadAllYaml(readFileSync(file, 'utf8')) as k8s.KubernetesObject[];
  const kept = all.filter((o) => KEEP.has(`${o.kind}/${o.metadata?.name}`));
  if (kept.length !== KEEP.size)
    throw new Error(
      `${file} lacks ${[...KEEP].filter((k) => !kept.some((o) => `${o.kind}/${o.metadata?.name}` === k)).join(', ')}`,
    );
  for (const o of kept) {
    if (o.kind === 'DaemonSet') {
      const ds = o as k8s.V1DaemonSet;
      for (const c of ds.spec?.template.spec?.containers ?? []) {
        c.image = IMAGE;
        c.imagePullPolicy = 'Never';
      }
    }
    if (o.kind === 'RoleBinding') {
      const rb = o as k8s.V1RoleBinding;
      rb.subjects = (rb.subjects ?? []).filter((s) => s.name === 'speaker');
    }
  }
  const secret: k8s.V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'memberlist', namespace: METALLB_NAMESPACE },
    // what MetalLB's controller writes (--ml-secret-name): a random key under "secretkey"
    stringData: { secretkey: randomBytes(32).toString('base64') },
  };
  // dumpYaml writes the API's field names back (the typed models rename a few)
  return [...kept, secret].map((o) => k8s.dumpYaml(o)).join('---\n');
}
