import { describe, expect, it } from 'vitest';
import { anySelectorMatches, selectorMatches, validateSelector } from './selector.ts';

describe('selectorMatches', () => {
  const labels = { zone: 'a', rack: 'r1' };
  it.each([
    ['an empty selector matches everything', {}, true],
    ['matchLabels equal', { matchLabels: { zone: 'a' } }, true],
    ['matchLabels differ', { matchLabels: { zone: 'b' } }, false],
    [
      'In with the value',
      { matchExpressions: [{ key: 'zone', operator: 'In' as const, values: ['a', 'b'] }] },
      true,
    ],
    [
      'In without the label',
      { matchExpressions: [{ key: 'x', operator: 'In' as const, values: ['a'] }] },
      false,
    ],
    [
      'NotIn without the label',
      { matchExpressions: [{ key: 'x', operator: 'NotIn' as const, values: ['a'] }] },
      true,
    ],
    [
      'NotIn with the value',
      { matchExpressions: [{ key: 'zone', operator: 'NotIn' as const, values: ['a'] }] },
      false,
    ],
    ['Exists', { matchExpressions: [{ key: 'rack', operator: 'Exists' as const }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'rack', operator: 'DoesNotExist' as const }] }, false],
  ])('%s', (_name, selector, want) => {
    expect(selectorMatches(selector, labels)).toBe(want);
  });

  it('anySelectorMatches: an empty list matches, otherwise any one must', () => {
    expect(anySelectorMatches([], {})).toBe(true);
    expect(anySelectorMatches([{ matchLabels: { a: '1' } }, { matchLabels: { b: '2' } }], { b: '2' })).toBe(
      true,
    );
    expect(anySelectorMatches([{ matchLabels: { a: '1' } }], { b: '2' })).toBe(false);
  });

  it('validateSelector names the bad requirement', () => {
    expect(validateSelector({ matchExpressions: [{ key: 'k', operator: 'In' }] })).toMatch(
      /"k".*needs values/,
    );
    expect(validateSelector({ matchExpressions: [{ key: 'k', operator: 'Exists', values: ['x'] }] })).toMatch(
      /takes no values/,
    );
    expect(validateSelector({ matchLabels: { a: 'b' } })).toBeUndefined();
  });
});
