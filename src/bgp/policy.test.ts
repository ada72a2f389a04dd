import { describe, expect, it } from 'vitest';
import { buildExportAssignment, buildExportPolicy, changedExclusions } from './policy.ts';
import { parsePrefix } from './prefix.ts';

const peers = [{ address: '192.0.2.1' }, { address: '192.0.2.5' }, { address: '2001:db8::1' }];
const path = (prefix: string, to: string[]) => ({ prefix: parsePrefix(prefix), peers: to });

describe('buildExportPolicy', () => {
  it('has no statement when every path goes to every peer of its family', () => {
    const policy = buildExportPolicy(
      [path('198.51.100.1/32', ['192.0.2.1', '192.0.2.5']), path('2001:db8:100::1/128', ['2001:db8::1'])],
      peers,
    );
    expect(policy.request).toEqual({
      defined_sets: [],
      policies: [{ name: 'ironlb-export', statements: [] }],
    });
    expect(policy.exclusions.size).toBe(0);
  });

  it('rejects each prefix toward the peers of its family it is not for, grouped by excluded peers', () => {
    const policy = buildExportPolicy(
      [
        path('198.51.100.1/32', ['192.0.2.1']),
        path('198.51.100.2/32', ['192.0.2.1']),
        path('203.0.113.0/24', ['192.0.2.5']),
        path('2001:db8:100::1/128', []),
      ],
      peers,
    );
    expect(policy.request.defined_sets).toEqual([
      {
        defined_type: 'PREFIX',
        name: 'ironlb-prefixes-0',
        prefixes: [{ ip_prefix: '203.0.113.0/24', mask_length_min: 24, mask_length_max: 24 }],
      },
      { defined_type: 'NEIGHBOR', name: 'ironlb-peers-0', list: ['192.0.2.1/32'] },
      {
        defined_type: 'PREFIX',
        name: 'ironlb-prefixes-1',
        prefixes: [
          { ip_prefix: '198.51.100.1/32', mask_length_min: 32, mask_length_max: 32 },
          { ip_prefix: '198.51.100.2/32', mask_length_min: 32, mask_length_max: 32 },
        ],
      },
      { defined_type: 'NEIGHBOR', name: 'ironlb-peers-1', list: ['192.0.2.5/32'] },
      {
        defined_type: 'PREFIX',
        name: 'ironlb-prefixes-2',
        prefixes: [{ ip_prefix: '2001:db8:100::1/128', mask_length_min: 128, mask_length_max: 128 }],
      },
      { defined_type: 'NEIGHBOR', name: 'ironlb-peers-2', list: ['2001:db8::1/128'] },
    ]);
    expect(policy.request.policies[0]?.statements[1]).toEqual({
      name: 'ironlb-reject-1',
      conditions: {
        prefix_set: { type: 'ANY', name: 'ironlb-prefixes-1' },
        neighbor_set: { type: 'ANY', name: 'ironlb-peers-1' },
      },
      actions: { route_action: 'REJECT' },
    });
    expect([...policy.exclusions]).toEqual([
      ['198.51.100.1/32', '192.0.2.5'],
      ['198.51.100.2/32', '192.0.2.5'],
      ['203.0.113.0/24', '192.0.2.1'],
      ['2001:db8:100::1/128', '2001:db8::1'],
    ]);
  });

  it('attaches to the global export and accepts by default', () => {
    expect(buildExportAssignment().assignment).toMatchObject({
      name: 'global',
      direction: 'EXPORT',
      default_action: 'ACCEPT',
    });
  });

  it('names the prefixes whose exclusions changed', () => {
    const before = new Map([
      ['198.51.100.1/32', '192.0.2.5'],
      ['198.51.100.2/32', '192.0.2.5'],
    ]);
    const after = new Map([
      ['198.51.100.2/32', '192.0.2.1'],
      ['198.51.100.3/32', '192.0.2.1'],
    ]);
    expect(changedExclusions(before, after)).toEqual([
      '198.51.100.1/32',
      '198.51.100.2/32',
      '198.51.100.3/32',
    ]);
    expect(changedExclusions(before, before)).toEqual([]);
  });
});
