import type { LabelSelector } from './model.ts';

/**
 * selectorMatches reports whether labels satisfy a Kubernetes label selector: every matchLabels pair and every
 * matchExpressions requirement must hold. An empty selector ({}) matches everything, as in Kubernetes.
 * Unknown operators never match. Cost: O(|matchLabels| + Σ|values|).
 */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const value = labels[req.key];
    switch (req.operator) {
      case 'In':
        if (!has || !(req.values ?? []).includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && (req.values ?? []).includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * anySelectorMatches reports whether labels satisfy at least one selector; an empty list matches everything
 * (MetalLB's rule for nodeSelectors, serviceSelectors and namespaceSelectors).
 */
export function anySelectorMatches(
  selectors: readonly LabelSelector[],
  labels: Readonly<Record<string, string>>,
): boolean {
  return selectors.length === 0 || selectors.some((s) => selectorMatches(s, labels));
}

/**
 * validateSelector returns a message for the first invalid part of a selector, or undefined when it is valid:
 * In/NotIn need values, Exists/DoesNotExist take none, the operator must be known.
 */
export function validateSelector(selector: LabelSelector): string | undefined {
  for (const req of selector.matchExpressions ?? []) {
    if (!req.key) return 'matchExpressions entry has an empty key';
    const n = req.values?.length ?? 0;
    switch (req.operator) {
      case 'In':
      case 'NotIn':
        if (n === 0) return `matchExpressions key "${req.key}": operator "${req.operator}" needs values`;
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (n > 0) return `matchExpressions key "${req.key}": operator "${req.operator}" takes no values`;
        break;
      default:
        return `matchExpressions key "${req.key}": unknown operator "${String(req.operator)}"`;
    }
  }
  return undefined;
}
