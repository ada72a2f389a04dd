// Builders shared by the allocator's tests and the benchmark: plain objects in, parsed model and views out.
import { parseConfig } from '../../src/config/parse.ts';
import type { Config } from '../../src/config/model.ts';
import { toServiceView, type ServiceView } from '../../src/service/view.ts';

/** PoolSpec describes one IPAddressPool for tests: addresses plus any other spec fields. */
export interface PoolSpec {
  addresses: string[];
  [field: string]: unknown;
}

/** configOf builds a Config from pool specs keyed by name; throws if parseConfig reports any problem. */
export function configOf(pools: Record<string, PoolSpec>): Config {
  const objects = Object.entries(pools).map(([name, spec]) => ({
    kind: 'IPAddressPool',
    metadata: { name, namespace: 'metallb-system' },
    spec,
  }));
  const { config, problems } = parseConfig(objects);
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('\n'));
  return config;
}

/** ServiceSpec describes a LoadBalancer Service for tests in a few fields. */
export interface ServiceSpec {
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ports?: Array<[string, number]>;
  ingress?: string[];
  families?: Array<'IPv4' | 'IPv6'>;
  policy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  local?: Record<string, string>;
  created?: string;
  loadBalancerIP?: string;
}

/** svc builds a ServiceView named `name` (namespace "default" unless given) through toServiceView. */
export function svc(name: string, s: ServiceSpec = {}): ServiceView {
  const spec: Record<string, unknown> = {
    type: 'LoadBalancer',
    ports: (s.ports ?? [['TCP', 80]]).map(([protocol, port]) => ({ protocol, port })),
    ipFamilies: s.families ?? ['IPv4'],
    ipFamilyPolicy: s.policy ?? 'SingleStack',
  };
  if (s.local) {
    spec.externalTrafficPolicy = 'Local';
    spec.selector = s.local;
  }
  if (s.loadBalancerIP) spec.loadBalancerIP = s.loadBalancerIP;
  const metadata: Record<string, unknown> = {
    name,
    namespace: s.namespace ?? 'default',
    labels: s.labels ?? {},
    annotations: s.annotations ?? {},
  };
  if (s.created) metadata.creationTimestamp = s.created;
  return toServiceView({
    metadata,
    spec,
    status: { loadBalancer: { ingress: (s.ingress ?? []).map((ip) => ({ ip })) } },
  });
}
