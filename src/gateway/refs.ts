// References between Gateway API objects: defaults of ParentReference and BackendObjectReference, and the
// ReferenceGrant rule for references that cross namespaces.
import { GATEWAY_GROUP, type ReferenceGrantObject } from './types.ts';

/** RefFrom names the kind of object making a reference and its namespace. */
export interface RefFrom {
  group: string;
  kind: string;
  namespace: string;
}

/** RefTo names the object referred to. */
export interface RefTo {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/**
 * referenceGranted tells whether a reference may cross namespaces: always within one namespace, else only when a
 * ReferenceGrant in the target's namespace lists the source (group, kind, namespace) in `from` and the target
 * (group, kind, and name when the grant names one) in `to`. O(grants).
 */
export function referenceGranted(grants: readonly ReferenceGrantObject[], from: RefFrom, to: RefTo): boolean {
  if (from.namespace === to.namespace) return true;
  return grants.some(
    (g) =>
      (g.metadata?.namespace ?? 'default') === to.namespace &&
      (g.spec?.from ?? []).some(
        (f) => (f.group ?? '') === from.group && f.kind === from.kind && f.namespace === from.namespace,
      ) &&
      (g.spec?.to ?? []).some(
        (t) =>
          (t.group ?? '') === to.group &&
          t.kind === to.kind &&
          (t.name === undefined || t.name === '' || t.name === to.name),
      ),
  );
}

/** routeFrom is the `from` of a reference made by a route of `kind` (HTTPRoute, GRPCRoute) in `namespace`. */
export function routeFrom(kind: string, namespace: string): RefFrom {
  return { group: GATEWAY_GROUP, kind, namespace };
}

/** gatewayFrom is the `from` of a reference made by a Gateway in `namespace`. */
export function gatewayFrom(namespace: string): RefFrom {
  return { group: GATEWAY_GROUP, kind: 'Gateway', namespace };
}
