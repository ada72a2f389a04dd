// `ironlb why gateway/NAMESPACE/NAME`, decided purely: what a Gateway has (its address and the IronLB Service it
// comes from, who announces it), and the conditions of the Gateway, its listeners and the routes attached to it.
// The command reads the objects; this file only words them.
import type { Condition, GatewayObject, HTTPRouteObject } from './types.ts';
import { GATEWAY_CONTROLLER } from './types.ts';

/** GatewayStatusView is the part of a Gateway's status this answer shows. */
export interface GatewayStatusView {
  addresses?: { type?: string; value?: string }[];
  conditions?: Condition[];
  listeners?: { name: string; attachedRoutes?: number; conditions?: Condition[] }[];
}

/** GatewayWhyInput is what the command read for one Gateway. */
export interface GatewayWhyInput {
  gateway: GatewayObject & { status?: GatewayStatusView };
  /** service is the Gateway's LoadBalancer Service (undefined when it does not exist). */
  service?: { name: string; ips: string[]; pool?: string };
  /** announcers are the nodes announcing the Service's addresses, worded ("node-1 (layer2 on eth0)"). */
  announcers: string[];
  /**
   * routes are HTTPRoutes, GRPCRoutes and TLSRoutes (`kind` as the API lists them; absent: HTTPRoute) that may name the
   * Gateway; those that do not are left out.
   */
  routes: (HTTPRouteObject & { kind?: string })[];
}

/** NEGATIVE_CONDITIONS are healthy when False (the spec's abnormal-true polarity). */
const NEGATIVE_CONDITIONS = new Set(['Conflicted']);

/** describeConditions words conditions as "Type=Status (Reason)", with the message when one is not healthy. */
export function describeConditions(conditions: readonly Condition[] | undefined): string {
  if (!conditions?.length) return 'no conditions yet';
  return conditions
    .map((c) => {
      const base = `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`;
      const healthy = c.status === (NEGATIVE_CONDITIONS.has(c.type) ? 'False' : 'True');
      return !healthy && c.message ? `${base}: ${c.message}` : base;
    })
    .join(', ');
}

/** explainGateway returns the lines `ironlb why gateway/NS/NAME` prints. */
export function explainGateway(input: GatewayWhyInput): string[] {
  const gw = input.gateway;
  const ns = gw.metadata?.namespace ?? 'default';
  const name = gw.metadata?.name ?? '';
  const key = `${ns}/${name}`;
  const status = gw.status ?? {};
  const lines: string[] = [];
  const addresses = (status.addresses ?? []).map((a) => a.value ?? '').filter(Boolean);
  const requested = (gw.spec?.addresses ?? []).map((a) => a.value ?? '').filter(Boolean);
  lines.push(
    `Gateway "${key}" (class "${gw.spec?.gatewayClassName ?? ''}") ` +
      (addresses.length ? `has ${addresses.join(', ')}` : 'has no address') +
      (requested.length ? ` (requested ${requested.join(', ')})` : ''),
  );
  lines.push(`  conditions: ${describeConditions(status.conditions)}`);
  const svc = input.service;
  if (!svc) lines.push('  Service: none yet (is the IronLB ingress running and is the Gateway Accepted?)');
  else if (svc.ips.length === 0)
    lines.push(`  Service "${ns}/${svc.name}" is pending: ironlb why ${ns}/${svc.name} says why`);
  else {
    lines.push(
      `  Service "${ns}/${svc.name}" holds ${svc.ips.join(', ')} from pool "${svc.pool ?? '?'}"`,
      `  announced by: ${input.announcers.length ? input.announcers.join('; ') : 'nobody (no ready proxy pod, no advertisement for its pool, or no eligible node: ironlb why ' + `${ns}/${svc.name})`}`,
    );
  }
  lines.push('listeners:');
  const listenerStatus = new Map((status.listeners ?? []).map((l) => [l.name, l]));
  for (const l of gw.spec?.listeners ?? []) {
    const st = listenerStatus.get(l.name ?? '');
    lines.push(
      `  ${l.name ?? '?'} ${l.protocol ?? '?'} :${l.port ?? '?'}${l.hostname ? ` ${l.hostname}` : ''}, ` +
        `${st?.attachedRoutes ?? 0} route(s): ${describeConditions(st?.conditions)}`,
    );
  }
  const names = (
    r: HTTPRouteObject,
    p: { group?: string; kind?: string; name?: string; namespace?: string },
  ) =>
    (p.group ?? 'gateway.networking.k8s.io') === 'gateway.networking.k8s.io' &&
    (p.kind ?? 'Gateway') === 'Gateway' &&
    p.name === name &&
    (p.namespace ?? r.metadata?.namespace ?? 'default') === ns;
  const routes = input.routes
    .filter((r) => (r.spec?.parentRefs ?? []).some((p) => names(r, p)))
    .sort((a, b) =>
      `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(
        `${b.metadata?.namespace}/${b.metadata?.name}`,
      ),
    );
  lines.push(routes.length ? 'routes:' : 'routes: none name this Gateway');
  for (const r of routes) {
    const rkey = `${r.metadata?.namespace ?? 'default'}/${r.metadata?.name ?? ''}`;
    const ours = (r.status?.parents ?? []).filter(
      (p) => p.controllerName === GATEWAY_CONTROLLER && names(r, p.parentRef),
    );
    const kind = r.kind ?? 'HTTPRoute';
    if (ours.length === 0) lines.push(`  ${kind} "${rkey}": no status from ${GATEWAY_CONTROLLER} yet`);
    for (const p of ours)
      lines.push(
        `  ${kind} "${rkey}"${p.parentRef.sectionName ? ` (listener ${p.parentRef.sectionName})` : ''}: ` +
          describeConditions(p.conditions),
      );
  }
  return lines;
}
