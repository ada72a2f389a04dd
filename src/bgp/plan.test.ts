import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPathSpec, pathKey, type PathParams, type PathSpec } from './path.ts';
import { planAdoption, planPaths, type PathPlan } from './plan.ts';
import { formatPrefix } from './prefix.ts';
import { parsePathUuid, type PathUuid } from './uuid.ts';

const host: PathParams = {
  aggregationLength: 32,
  aggregationLengthV6: 128,
  communities: [],
  largeCommunities: [],
};
const spec = (address: string, communities: number[] = []): PathSpec =>
  buildPathSpec(address, { ...host, communities }, { towardIBGP: false });

/**
 * FakeGobgp models the part of gobgpd's global table that matters: one local path per prefix, AddPath replaces
 * it and re-keys the uuid, DeletePath by an unknown uuid fails ("can't find a specified path").
 */
class FakeGobgp {
  readonly table = new Map<string, { key: string; uuid: PathUuid; spec: PathSpec }>();
  readonly calls: string[] = [];
  private next = 1;

  addPath(path: PathSpec): PathUuid {
    const uuid = parsePathUuid(`00000000-0000-4000-8000-${(this.next++).toString(16).padStart(12, '0')}`);
    this.table.set(formatPrefix(path.prefix), { key: pathKey(path), uuid, spec: path });
    this.calls.push(`add ${pathKey(path)}`);
    return uuid;
  }

  deletePath(uuid: PathUuid): void {
    for (const [prefix, entry] of this.table) {
      if (entry.uuid === uuid) {
        this.table.delete(prefix);
        this.calls.push(`delete ${entry.key}`);
        return;
      }
    }
    throw new Error(`can't find a specified path (${uuid})`);
  }
}

/** apply runs a plan the way the speaker must: adds, then deletes, then bookkeeping. */
function apply(plan: PathPlan, gobgp: FakeGobgp, current: Map<string, PathUuid>): void {
  for (const { key, spec: s } of plan.add) current.set(key, gobgp.addPath(s));
  for (const { key, uuid } of plan.delete) {
    gobgp.deletePath(uuid);
    current.delete(key);
  }
  for (const { key } of plan.superseded) current.delete(key);
}

describe('planPaths', () => {
  it('converges step by step (a story)', () => {
    const gobgp = new FakeGobgp();
    const current = new Map<string, PathUuid>();
    const steps: Array<{ story: string; desired: PathSpec[]; calls: string[] }> = [
      {
        story: 's1 and s2 get addresses: both are added',
        desired: [spec('198.51.100.10'), spec('2001:db8:100::10')],
        calls: ['add 198.51.100.10/32 nh=0.0.0.0 c= lc= lp=', 'add 2001:db8:100::10/128 nh=:: c= lc= lp='],
      },
      {
        story: 'nothing changes: no call at all',
        desired: [spec('2001:db8:100::10'), spec('198.51.100.10')],
        calls: [],
      },
      {
        story: 's1 gains a community: replaced in place by AddPath, no DeletePath (no withdrawal gap)',
        desired: [spec('198.51.100.10', [100]), spec('2001:db8:100::10')],
        calls: ['add 198.51.100.10/32 nh=0.0.0.0 c=0:100 lc= lp='],
      },
      {
        story: 's2 is deleted and s3 appears: add first, then delete by uuid',
        desired: [spec('198.51.100.10', [100]), spec('198.51.100.11')],
        calls: ['add 198.51.100.11/32 nh=0.0.0.0 c= lc= lp=', 'delete 2001:db8:100::10/128 nh=:: c= lc= lp='],
      },
      {
        story: 'everything goes: one DeletePath per uuid, never an empty one',
        desired: [],
        calls: [
          'delete 198.51.100.10/32 nh=0.0.0.0 c=0:100 lc= lp=',
          'delete 198.51.100.11/32 nh=0.0.0.0 c= lc= lp=',
        ],
      },
    ];
    for (const step of steps) {
      gobgp.calls.length = 0;
      apply(planPaths(current, step.desired), gobgp, current);
      expect(gobgp.calls, step.story).toEqual(step.calls);
      expect([...current.keys()].sort(), step.story).toEqual(step.desired.map(pathKey).sort());
    }
    expect(gobgp.table.size).toBe(0);
  });

  it('reports superseded and unchanged paths', () => {
    const old = spec('198.51.100.10');
    const kept = spec('198.51.100.11');
    const uuid = (n: number): PathUuid => parsePathUuid(`00000000-0000-4000-8000-00000000000${n}`);
    const plan = planPaths(
      new Map([
        [pathKey(old), uuid(1)],
        [pathKey(kept), uuid(2)],
      ]),
      [spec('198.51.100.10', [7]), kept],
    );
    expect(plan).toEqual({
      add: [{ key: pathKey(spec('198.51.100.10', [7])), spec: spec('198.51.100.10', [7]) }],
      delete: [],
      superseded: [{ key: pathKey(old), uuid: uuid(1) }],
      unchanged: [pathKey(kept)],
    });
  });

  it('refuses a prefix desired twice', () => {
    expect(() => planPaths(new Map(), [spec('198.51.100.10'), spec('198.51.100.10', [1])])).toThrow(
      'prefix "198.51.100.10/32" is desired twice',
    );
  });

  it('always converges gobgpd to the desired set, and every DeletePath hits a live uuid', () => {
    const addresses = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '2001:db8:100::1', '2001:db8:100::2'];
    const desiredSet = fc
      .array(fc.tuple(fc.constantFrom(...addresses), fc.constantFrom<number[]>([], [1], [1, 2])), {
        maxLength: 5,
      })
      .map((entries) =>
        [...new Map(entries).entries()].map(([address, communities]) => spec(address, communities)),
      );
    fc.assert(
      fc.property(fc.array(desiredSet, { minLength: 1, maxLength: 6 }), (steps) => {
        const gobgp = new FakeGobgp();
        const current = new Map<string, PathUuid>();
        for (const desired of steps) {
          apply(planPaths(current, desired), gobgp, current); // FakeGobgp throws on a dead uuid
          const table = new Map([...gobgp.table.values()].map(({ key, uuid }) => [key, uuid]));
          expect([...table.keys()].sort()).toEqual(desired.map(pathKey).sort());
          expect(current).toEqual(table);
        }
      }),
    );
  });
});

describe('planAdoption', () => {
  it('re-adds every desired path and turns undesired prefixes into orphans', () => {
    const listed = [spec('198.51.100.10'), spec('198.51.100.11', [5]), spec('2001:db8:100::10')];
    const desired = [spec('198.51.100.11', [6]), spec('198.51.100.12')];
    const plan = planAdoption(listed, desired);
    expect(plan.add.map((a) => a.key)).toEqual(desired.map(pathKey).sort());
    expect(plan.orphans.map((a) => a.key)).toEqual([
      pathKey(spec('198.51.100.10')),
      pathKey(spec('2001:db8:100::10')),
    ]);
  });

  it('leaves gobgpd holding exactly the desired paths, each with a live uuid', () => {
    const gobgp = new FakeGobgp();
    for (const s of [spec('198.51.100.10'), spec('198.51.100.11', [5])]) gobgp.addPath(s); // uuids lost with the old speaker
    const desired = [spec('198.51.100.11', [6]), spec('198.51.100.12')];
    const plan = planAdoption(
      [...gobgp.table.values()].map((entry) => entry.spec),
      desired,
    );
    const current = new Map<string, PathUuid>();
    for (const { key, spec: s } of plan.add) current.set(key, gobgp.addPath(s));
    for (const { spec: s } of plan.orphans) gobgp.deletePath(gobgp.addPath(s));
    expect(new Map([...gobgp.table.values()].map(({ key, uuid }) => [key, uuid]))).toEqual(current);
    gobgp.calls.length = 0;
    apply(planPaths(current, []), gobgp, current);
    expect(gobgp.table.size).toBe(0);
  });
});
