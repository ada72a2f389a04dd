// The API resources IronLB's programs share: the metallb.io CRDs each program reads or writes, declared once.
// Every informer, client call, webhook table and CLI lookup takes group, version and plural from here.

/** METALLB_GROUP is the API group of every IronLB custom resource (MetalLB's, for drop-in compatibility). */
export const METALLB_GROUP = 'metallb.io';

/** Resource names one namespaced custom resource: its kind and where the API server serves it. */
export interface Resource {
  kind: string;
  group: string;
  /** version: the storage version IronLB reads and writes. */
  version: string;
  plural: string;
}

const metallb = (kind: string, plural: string, version = 'v1beta1'): Resource => ({
  kind,
  group: METALLB_GROUP,
  version,
  plural,
});

/** RESOURCES is the CRD registry: every metallb.io kind IronLB touches, by kind. */
export const RESOURCES = {
  IPAddressPool: metallb('IPAddressPool', 'ipaddresspools'),
  L2Advertisement: metallb('L2Advertisement', 'l2advertisements'),
  BGPAdvertisement: metallb('BGPAdvertisement', 'bgpadvertisements'),
  BGPPeer: metallb('BGPPeer', 'bgppeers', 'v1beta2'),
  Community: metallb('Community', 'communities'),
  BFDProfile: metallb('BFDProfile', 'bfdprofiles'),
  ServiceL2Status: metallb('ServiceL2Status', 'servicel2statuses'),
  ServiceBGPStatus: metallb('ServiceBGPStatus', 'servicebgpstatuses'),
} as const satisfies Record<string, Resource>;

/** ResourceKind is a kind RESOURCES declares. */
export type ResourceKind = keyof typeof RESOURCES;

/**
 * CONFIG_RESOURCES are the configuration kinds parseConfig reads (pools first: the controller watches only them
 * for allocation, the rest for the webhook's cross-object checks). Order is stable.
 */
export const CONFIG_RESOURCES: readonly Resource[] = [
  RESOURCES.IPAddressPool,
  RESOURCES.L2Advertisement,
  RESOURCES.BGPAdvertisement,
  RESOURCES.BGPPeer,
  RESOURCES.Community,
  RESOURCES.BFDProfile,
];

/** apiVersionOf returns "group/version" of a resource, as objects and Event targets carry it. */
export function apiVersionOf(r: Resource): string {
  return `${r.group}/${r.version}`;
}

/** collectionPath is the namespaced list/watch path of a resource: /apis/group/version/namespaces/ns/plural. */
export function collectionPath(r: Resource, namespace: string): string {
  return `/apis/${r.group}/${r.version}/namespaces/${namespace}/${r.plural}`;
}

/**
 * STATUS_LABELS are the labels on every ServiceL2Status/ServiceBGPStatus object (MetalLB's): the node that
 * announces and the Service it announces. Users and the CLI select status objects by them.
 */
export const STATUS_LABELS = {
  node: 'metallb.io/node',
  serviceName: 'metallb.io/service-name',
  serviceNamespace: 'metallb.io/service-namespace',
} as const;
