// The AddressConflict condition: the speaker sets it on a Service when another host answers for one of its
// addresses, the controller reads it to avoid that address and flips it to Reassigned once the Service moved.
// Both sides use this codec, so what is written is what is read: the condition's message carries the
// structured fields as JSON (never prose to be parsed back); describeConflict renders them for people.

/** CONFLICT_CONDITION is the Service condition type of an address conflict. */
export const CONFLICT_CONDITION = 'ironlb.io/AddressConflict';

/** CONFLICT_REASONS: AddressInUse (status True, the speaker saw it) and Reassigned (False, the controller moved). */
export const CONFLICT_REASONS = { inUse: 'AddressInUse', reassigned: 'Reassigned' } as const;

/** InUseReport is what a speaker saw: another host (mac) answering for ip on node's interface. */
export interface InUseReport {
  ip: string;
  mac: string;
  node: string;
  interfaceName: string;
}

/** ReassignedReport is what the controller did: moved the Service off `ips` (reported by detectedBy) to movedTo. */
export interface ReassignedReport {
  ips: string[];
  detectedBy: string;
  movedTo: string[];
}

/** ConflictCondition is the condition as written (lastTransitionTime and observedGeneration are the writer's). */
export interface ConflictCondition {
  type: typeof CONFLICT_CONDITION;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** Conflict is a decoded condition: the addresses in question, whether it is still active, and who saw it. */
export interface Conflict {
  ips: string[];
  /** active: True (the address is in use elsewhere now); false once the controller moved the Service. */
  active: boolean;
  /** at: lastTransitionTime in ms since the epoch (0 when absent). */
  at: number;
  detectedBy: string;
  mac?: string;
  interfaceName?: string;
  movedTo?: string[];
}

/** encodeInUse builds the condition a speaker writes when ip is in use by another host. */
export function encodeInUse(r: InUseReport): ConflictCondition {
  return {
    type: CONFLICT_CONDITION,
    status: 'True',
    reason: CONFLICT_REASONS.inUse,
    message: JSON.stringify({ addresses: [r.ip], mac: r.mac, node: r.node, interface: r.interfaceName }),
  };
}

/** encodeReassigned builds the condition the controller writes once the Service no longer holds r.ips. */
export function encodeReassigned(r: ReassignedReport): ConflictCondition {
  return {
    type: CONFLICT_CONDITION,
    status: 'False',
    reason: CONFLICT_REASONS.reassigned,
    message: JSON.stringify({ addresses: r.ips, detectedBy: r.detectedBy, movedTo: r.movedTo }),
  };
}

/** ConditionLike is the part of a Kubernetes condition decodeConflict reads. */
export interface ConditionLike {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: Date | string;
}

type Fields = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strs = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];

function fields(message: string | undefined): Fields | undefined {
  try {
    const v: unknown = JSON.parse(message ?? '');
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Fields) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * decodeConflict reads an AddressConflict condition from a Service's conditions: undefined when there is none,
 * it is neither active nor Reassigned, or its fields are not this codec's (no address in them).
 */
export function decodeConflict(conditions: readonly ConditionLike[] | undefined): Conflict | undefined {
  const c = (conditions ?? []).find((x) => x.type === CONFLICT_CONDITION);
  if (!c) return undefined;
  const active = c.status === 'True';
  if (!active && c.reason !== CONFLICT_REASONS.reassigned) return undefined;
  const f = fields(c.message);
  const ips = strs(f?.addresses);
  if (!f || ips.length === 0) return undefined;
  const mac = str(f.mac);
  const interfaceName = str(f.interface);
  return {
    ips,
    active,
    at: c.lastTransitionTime ? new Date(c.lastTransitionTime).getTime() || 0 : 0,
    detectedBy: str(f.node) ?? str(f.detectedBy) ?? 'speaker',
    ...(mac ? { mac } : {}),
    ...(interfaceName ? { interfaceName } : {}),
    ...(Array.isArray(f.movedTo) ? { movedTo: strs(f.movedTo) } : {}),
  };
}

/** describeConflict renders a decoded conflict as one sentence for people (CLI, logs). */
export function describeConflict(c: Conflict): string {
  const addrs = c.ips.map((ip) => `"${ip}"`).join(' and ');
  if (c.active) {
    const where = c.interfaceName ? ` on ${c.interfaceName}` : '';
    return `Address ${addrs} is already in use by another host (MAC ${c.mac ?? 'unknown'}), seen by ${c.detectedBy}${where}`;
  }
  return `Address ${addrs} in use by another host (seen by ${c.detectedBy} on the network): moved to ${JSON.stringify(c.movedTo ?? [])}`;
}
