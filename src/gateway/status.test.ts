import { describe, expect, it } from 'vitest';
import { mergeConditions, mergeRouteParents, sameStatus } from './status.ts';
import type { Condition } from './types.ts';

const c = (type: string, status: 'True' | 'False', t?: string): Condition => ({
  type,
  status,
  reason: status === 'True' ? type : 'Nope',
  message: '',
  ...(t ? { lastTransitionTime: t } : {}),
});

describe('gateway status', () => {
  it('keeps the transition time while a condition holds, stamps it when the status flips', () => {
    const prev = [c('Accepted', 'True', 'T0'), c('Programmed', 'False', 'T0')];
    expect(mergeConditions(prev, [c('Accepted', 'True'), c('Programmed', 'True')], 'T1')).toEqual([
      c('Accepted', 'True', 'T0'),
      c('Programmed', 'True', 'T1'),
    ]);
  });

  it('compares statuses without times or key order', () => {
    expect(sameStatus({ conditions: [c('A', 'True', 'T0')] }, { conditions: [c('A', 'True', 'T9')] })).toBe(
      true,
    );
    expect(sameStatus({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(sameStatus({ conditions: [c('A', 'True')] }, { conditions: [c('A', 'False')] })).toBe(false);
  });

  it("replaces our route parents only, keeping another controller's", () => {
    const theirs = {
      parentRef: { name: 'other' },
      controllerName: 'example.com/x',
      conditions: [c('Accepted', 'True', 'T0')],
    };
    const oldOurs = {
      parentRef: { name: 'gw' },
      controllerName: 'ironlb',
      conditions: [c('Accepted', 'True', 'T0')],
    };
    const gone = {
      parentRef: { name: 'old-gw' },
      controllerName: 'ironlb',
      conditions: [c('Accepted', 'True', 'T0')],
    };
    const merged = mergeRouteParents(
      [theirs, oldOurs, gone],
      [{ parentRef: { name: 'gw' }, controllerName: 'ironlb', conditions: [c('Accepted', 'True')] }],
      'ironlb',
      'T1',
    );
    expect(merged).toEqual([theirs, { ...oldOurs, conditions: [c('Accepted', 'True', 'T0')] }]);
  });
});
