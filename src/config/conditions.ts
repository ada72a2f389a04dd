// What the controller tells users about each configuration object, where they look: the object's own `Valid`
// condition (kubectl describe / get -o yaml) and a Warning Event. Built from the parse step's report, so the
// condition says exactly what parseConfig decided.
import type { ParseResult } from './parse.ts';
import type { ConfigProblem } from './problem.ts';
import { isJson } from './raw.ts';

/** REPORTED_KINDS are the kinds whose `Valid` condition the controller writes (IPAddressPool has its own). */
export const REPORTED_KINDS = ['L2Advertisement', 'BGPAdvertisement', 'BGPPeer'] as const;

/** ValidCondition is the one condition IronLB keeps on a configuration object. */
export interface ValidCondition {
  type: 'Valid';
  status: 'True' | 'False';
  /** Valid | Invalid (rejected) | MissingReference (rejected until the object appears) | DanglingReference (in use, but a name resolves to nothing) */
  reason: 'Valid' | 'Invalid' | 'MissingReference' | 'DanglingReference';
  message: string;
}

/** ObjectReport is the verdict on one object: its condition, and the Event to record when it is not valid. */
export interface ObjectReport {
  kind: string;
  name: string;
  condition: ValidCondition;
}

/**
 * configReports returns one report per object of REPORTED_KINDS in `objects` (kind and name), from the parse
 * result: rejected → Invalid or MissingReference with the problem's message; in use with dangling references
 * → DanglingReference naming each one; otherwise Valid. Pure; O(objects + problems).
 */
export function configReports(
  objects: ReadonlyArray<{ kind: string; name: string }>,
  result: Pick<ParseResult, 'problems' | 'warnings'>,
): ObjectReport[] {
  const key = (kind: string, name: string) => `${kind}\u0000${name}`;
  const problems = new Map<string, ConfigProblem>();
  for (const p of result.problems)
    if (!problems.has(key(p.kind, p.name))) problems.set(key(p.kind, p.name), p);
  const warnings = new Map<string, string[]>();
  for (const w of result.warnings) {
    const list = warnings.get(key(w.kind, w.name)) ?? [];
    list.push(w.message);
    warnings.set(key(w.kind, w.name), list);
  }
  const kinds = new Set<string>(REPORTED_KINDS);
  const out: ObjectReport[] = [];
  for (const o of objects) {
    if (!kinds.has(o.kind)) continue;
    const problem = problems.get(key(o.kind, o.name));
    const dangling = warnings.get(key(o.kind, o.name));
    let condition: ValidCondition;
    if (problem) {
      condition = {
        type: 'Valid',
        status: 'False',
        reason: problem.retryable ? 'MissingReference' : 'Invalid',
        message: problem.message,
      };
    } else if (dangling) {
      condition = {
        type: 'Valid',
        status: 'False',
        reason: 'DanglingReference',
        message: dangling.join('; '),
      };
    } else {
      condition = {
        type: 'Valid',
        status: 'True',
        reason: 'Valid',
        message: `${o.kind} "${o.name}" is in use`,
      };
    }
    out.push({ kind: o.kind, name: o.name, condition });
  }
  return out;
}

/**
 * reportedProblems reads back, from objects as stored (any kinds; each with its `kind`), the Valid=False
 * conditions the controller wrote on REPORTED_KINDS, as ConfigProblems (Invalid → not retryable). A condition
 * written for an older generation of its object is skipped: it speaks of a spec that is gone. `ironlb why`
 * shows these beside its own parse for what only the controller sees (a BGPPeer's password Secret).
 */
export function reportedProblems(objects: readonly unknown[]): ConfigProblem[] {
  const kinds = new Set<string>(REPORTED_KINDS);
  const out: ConfigProblem[] = [];
  for (const o of objects) {
    if (!isJson(o) || typeof o.kind !== 'string' || !kinds.has(o.kind)) continue;
    const meta = isJson(o.metadata) ? o.metadata : {};
    const status = isJson(o.status) ? o.status : {};
    const conditions = Array.isArray(status.conditions) ? status.conditions : [];
    const c = conditions.find((x) => isJson(x) && x.type === 'Valid');
    if (!isJson(c) || c.status !== 'False' || typeof c.message !== 'string') continue;
    if (
      typeof c.observedGeneration === 'number' &&
      typeof meta.generation === 'number' &&
      c.observedGeneration !== meta.generation
    )
      continue;
    const p: ConfigProblem = {
      kind: o.kind,
      name: typeof meta.name === 'string' ? meta.name : '',
      message: c.message,
      retryable: c.reason !== 'Invalid',
    };
    if (typeof meta.namespace === 'string') p.namespace = meta.namespace;
    out.push(p);
  }
  return out;
}
