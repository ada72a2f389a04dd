// Typed reads from plain JSON objects as the API server returns them. Each reader throws an ObjectFault whose
// message names the field, so the parse step can report "IPAddressPool "x": spec.autoAssign must be a boolean".
import type { LabelSelector, LabelSelectorRequirement } from './model.ts';
import { validateSelector } from './selector.ts';
import { ObjectFault } from './problem.ts';

/** Json is a plain JSON object. */
export type Json = Record<string, unknown>;

/** isJson reports whether a value is a plain (non-array, non-null) object. */
export function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** optObject reads an optional object field. */
export function optObject(v: unknown, field: string): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isJson(v)) throw new ObjectFault(`${field} must be an object`);
  return v;
}

/** optString reads an optional string field; "" counts as absent. */
export function optString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ObjectFault(`${field} must be a string`);
  return v;
}

/** optBool reads an optional boolean field. */
export function optBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ObjectFault(`${field} must be a boolean`);
  return v;
}

/** optInt reads an optional integer field and checks it lies in [min, max]. */
export function optInt(v: unknown, field: string, bounds: { min: number; max: number }): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ObjectFault(`${field} must be an integer`);
  if (v < bounds.min || v > bounds.max) {
    throw new ObjectFault(`${field} ${v} is out of range (${bounds.min} to ${bounds.max})`);
  }
  return v;
}

/** stringList reads an optional list of strings (absent = empty). */
export function stringList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new ObjectFault(`${field} must be a list of strings`);
  }
  return v as string[];
}

/** rejectDuplicates throws when a list names the same value twice (MetalLB rejects these). */
export function rejectDuplicates(values: readonly string[], field: string): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw new ObjectFault(`${field} lists "${v}" twice`);
    seen.add(v);
  }
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** labelKeyProblem returns why a label key is invalid (Kubernetes syntax), or undefined when it is valid. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key "${key}" has an invalid prefix`;
  }
  if (!LABEL_NAME.test(name)) return `label key "${key}" is invalid`;
  return undefined;
}

/** labelValueProblem returns why a label value is invalid, or undefined ("" is a valid value). */
export function labelValueProblem(value: string): string | undefined {
  if (value === '' || LABEL_NAME.test(value)) return undefined;
  return `label value "${value}" is invalid`;
}

function requirement(v: unknown, field: string): LabelSelectorRequirement {
  if (!isJson(v)) throw new ObjectFault(`${field} must be an object`);
  const key = optString(v.key, `${field}.key`) ?? '';
  const operator = optString(v.operator, `${field}.operator`) ?? '';
  const values = stringList(v.values, `${field}.values`);
  const req = { key, operator, values } as LabelSelectorRequirement;
  return req;
}

/** selectorText returns a stable text for a label selector (sorted), used to spot duplicates. */
export function selectorText(s: LabelSelector): string {
  const labels = Object.entries(s.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const exprs = (s.matchExpressions ?? [])
    .map((e) => `${e.key} ${e.operator} (${[...(e.values ?? [])].sort().join(',')})`)
    .sort();
  return JSON.stringify([labels, exprs]);
}

/**
 * selectorList reads an optional list of label selectors, checks each with validateSelector, checks label
 * syntax, and rejects two equal selectors in one list (as MetalLB does).
 */
export function selectorList(v: unknown, field: string): LabelSelector[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ObjectFault(`${field} must be a list of label selectors`);
  const out: LabelSelector[] = [];
  const seen = new Set<string>();
  v.forEach((raw, i) => {
    const at = `${field}[${i}]`;
    if (!isJson(raw)) throw new ObjectFault(`${at} must be a label selector`);
    const sel: LabelSelector = {};
    const ml = optObject(raw.matchLabels, `${at}.matchLabels`);
    if (ml) {
      const labels: Record<string, string> = {};
      for (const [k, val] of Object.entries(ml)) {
        if (typeof val !== 'string') throw new ObjectFault(`${at}.matchLabels "${k}" must be a string`);
        const bad = labelKeyProblem(k) ?? labelValueProblem(val);
        if (bad) throw new ObjectFault(`${at}: ${bad}`);
        labels[k] = val;
      }
      sel.matchLabels = labels;
    }
    if (raw.matchExpressions !== undefined && raw.matchExpressions !== null) {
      if (!Array.isArray(raw.matchExpressions))
        throw new ObjectFault(`${at}.matchExpressions must be a list`);
      sel.matchExpressions = raw.matchExpressions.map((e, j) =>
        requirement(e, `${at}.matchExpressions[${j}]`),
      );
      for (const e of sel.matchExpressions) {
        const bad = labelKeyProblem(e.key) ?? (e.values ?? []).map(labelValueProblem).find((p) => p);
        if (bad && e.key !== '') throw new ObjectFault(`${at}: ${bad}`);
        rejectDuplicates(e.values ?? [], `${at} matchExpressions key "${e.key}" values`);
      }
    }
    const invalid = validateSelector(sel);
    if (invalid) throw new ObjectFault(`${at}: ${invalid}`);
    const canon = selectorText(sel);
    if (seen.has(canon)) throw new ObjectFault(`${field} has the same selector twice`);
    seen.add(canon);
    out.push(sel);
  });
  return out;
}
