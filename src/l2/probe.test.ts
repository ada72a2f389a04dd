import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FAST_TIMINGS,
  RFC4862_TIMINGS,
  RFC5227_TIMINGS,
  initialProbeState,
  stepProbe,
  type ProbeAction,
  type ProbeEvent,
  type ProbeOptions,
  type ProbeState,
  type ProbeTimings,
} from './probe.ts';

/** run plays events in order and records every action with the time it happened. */
function run(events: ProbeEvent[], options?: ProbeOptions, from: ProbeState = initialProbeState) {
  let state = from;
  const log: { at: number; action: ProbeAction }[] = [];
  for (const e of events) {
    const step = stepProbe(state, e, options);
    state = step.state;
    for (const action of step.actions) log.push({ at: 'now' in e ? e.now : -1, action });
  }
  return { state, log };
}

/** drive starts probing at 0 and fires every timer exactly when due until nothing is pending or `until`. */
function drive(
  options: ProbeOptions,
  random = 0.5,
  until = 60_000,
  conflicts: { at: number; mac: string }[] = [],
) {
  let step = stepProbe(initialProbeState, { type: 'start', now: 0, random }, options);
  const log: { at: number; action: ProbeAction }[] = step.actions.map((action) => ({ at: 0, action }));
  const pending = [...conflicts];
  for (let guard = 0; guard < 100; guard++) {
    const timerAt = step.state.nextAt;
    const c = pending[0];
    if (c && (timerAt === undefined || c.at < timerAt)) {
      pending.shift();
      step = stepProbe(step.state, { type: 'conflict', now: c.at, mac: c.mac }, options);
      log.push(...step.actions.map((action) => ({ at: c.at, action })));
      continue;
    }
    if (timerAt === undefined || timerAt > until) break;
    step = stepProbe(step.state, { type: 'timer', now: timerAt, random }, options);
    log.push(...step.actions.map((action) => ({ at: timerAt, action })));
  }
  return { state: step.state, log };
}

describe('RFC 5227 probing, one story', () => {
  it('waits, sends three probes 1–2 s apart, listens 2 s, then claims', () => {
    const { state, log } = drive({ timings: RFC5227_TIMINGS }, 0.5);
    expect(log).toEqual([
      { at: 500, action: { type: 'sendProbe' } }, // PROBE_WAIT × 0.5
      { at: 2000, action: { type: 'sendProbe' } }, // + PROBE_MIN + 0.5 × (MAX − MIN)
      { at: 3500, action: { type: 'sendProbe' } },
      { at: 5500, action: { type: 'claimed' } }, // + ANNOUNCE_WAIT
    ]);
    expect(state).toEqual({ phase: 'announced', probesSent: 3 });
  });
  it('gives the address up when another host answers a probe', () => {
    const { state, log } = drive({ timings: RFC5227_TIMINGS }, 0.5, 60_000, [
      { at: 2100, mac: '02:00:00:00:00:99' },
    ]);
    expect(log.map((l) => l.action.type)).toEqual(['sendProbe', 'sendProbe', 'conflict']);
    expect(log.at(-1)?.action).toEqual({
      type: 'conflict',
      mac: '02:00:00:00:00:99',
      while: 'probing',
      gaveUp: true,
    });
    expect(state).toMatchObject({
      phase: 'conflict',
      conflict: { mac: '02:00:00:00:00:99', at: 2100, while: 'probing' },
    });
    expect(state.nextAt).toBeUndefined();
  });
  it('still gives it up when the conflict arrives while listening after the last probe', () => {
    const { log } = drive({ timings: RFC5227_TIMINGS }, 0.5, 60_000, [{ at: 5000, mac: 'x' }]);
    expect(log.map((l) => l.action.type)).toEqual(['sendProbe', 'sendProbe', 'sendProbe', 'conflict']);
  });
});

describe('IPv6 DAD (RFC 4862) and fast timings', () => {
  it('sends one DAD probe and claims RetransTimer later', () => {
    expect(drive({ timings: RFC4862_TIMINGS }, 0).log).toEqual([
      { at: 0, action: { type: 'sendProbe' } },
      { at: 1000, action: { type: 'claimed' } },
    ]);
  });
  it('claims within 350 ms with FAST_TIMINGS, the first probe at once', () => {
    const { log } = drive({ timings: FAST_TIMINGS }, 1);
    expect(log[0]).toEqual({ at: 0, action: { type: 'sendProbe' } });
    expect(log.at(-1)).toEqual({ at: 350, action: { type: 'claimed' } });
  });
});

describe('defending an announced address (RFC 5227 §2.4)', () => {
  const announced: ProbeState = { phase: 'announced', probesSent: 3 };
  const opts = (defend: ProbeOptions['defend']): ProbeOptions => ({ timings: RFC5227_TIMINGS, defend });
  it('"once": defends the first conflict, gives up on a second within DEFEND_INTERVAL', () => {
    const { state, log } = run(
      [
        { type: 'conflict', now: 100_000, mac: 'r' },
        { type: 'conflict', now: 105_000, mac: 'r' },
      ],
      opts('once'),
      announced,
    );
    expect(log.map((l) => [l.at, l.action.type])).toEqual([
      [100_000, 'conflict'],
      [100_000, 'defend'],
      [105_000, 'conflict'],
    ]);
    expect(log[2]?.action).toMatchObject({ gaveUp: true });
    expect(state.phase).toBe('conflict');
  });
  it('"once": defends again after DEFEND_INTERVAL has passed', () => {
    const { state, log } = run(
      [
        { type: 'conflict', now: 100_000, mac: 'r' },
        { type: 'conflict', now: 110_000, mac: 'r' },
      ],
      opts('once'),
      announced,
    );
    expect(log.filter((l) => l.action.type === 'defend').length).toBe(2);
    expect(state).toMatchObject({ phase: 'announced', lastDefenseAt: 110_000 });
  });
  it('"never": gives up at once', () => {
    const { state, log } = run([{ type: 'conflict', now: 1, mac: 'r' }], opts('never'), announced);
    expect(log.map((l) => l.action)).toEqual([
      { type: 'conflict', mac: 'r', while: 'announced', gaveUp: true },
    ]);
    expect(state.phase).toBe('conflict');
  });
  it('"always": keeps the address, defending at most once per interval and reporting every conflict', () => {
    const events: ProbeEvent[] = [0, 1000, 2000, 10_000, 10_500].map((now) => ({
      type: 'conflict',
      now,
      mac: 'r',
    }));
    const { state, log } = run(events, opts('always'), announced);
    expect(log.filter((l) => l.action.type === 'conflict').length).toBe(5);
    expect(log.filter((l) => l.action.type === 'defend').map((l) => l.at)).toEqual([0, 10_000]);
    expect(state.phase).toBe('announced');
  });
});

describe('edges of the event protocol', () => {
  it('ignores early timers, conflicts while idle, and anything after giving up', () => {
    const s = stepProbe(initialProbeState, { type: 'start', now: 0, random: 1 }).state; // first probe at 1000
    expect(stepProbe(s, { type: 'timer', now: 999 })).toEqual({ state: s, actions: [] });
    expect(stepProbe(initialProbeState, { type: 'conflict', now: 1, mac: 'r' }).actions).toEqual([]);
    const dead: ProbeState = {
      phase: 'conflict',
      probesSent: 1,
      conflict: { mac: 'r', at: 1, while: 'probing' },
    };
    expect(stepProbe(dead, { type: 'conflict', now: 2, mac: 'q' }).actions).toEqual([]);
    expect(stepProbe(dead, { type: 'timer', now: 1e9 }).actions).toEqual([]);
  });
  it('stop returns to idle; start restarts from scratch', () => {
    const { state } = drive({ timings: FAST_TIMINGS });
    expect(stepProbe(state, { type: 'stop' }).state).toEqual(initialProbeState);
    expect(stepProbe(state, { type: 'start', now: 5, random: 0 }, { timings: FAST_TIMINGS })).toEqual({
      state: { phase: 'probing', probesSent: 1, nextAt: 55 },
      actions: [{ type: 'sendProbe' }],
    });
  });
  it('spaces probes from real sends when the timer fires late', () => {
    const s = stepProbe(initialProbeState, { type: 'start', now: 0, random: 0 }).state; // first probe sent at 0, second due at 1000
    const late = stepProbe(s, { type: 'timer', now: 5000, random: 0 });
    expect(late.actions).toEqual([{ type: 'sendProbe' }]);
    expect(late.state.nextAt).toBe(6000);
  });
  it.each<[string, Partial<ProbeTimings>]>([
    ['probeNum 0', { probeNum: 0 }],
    ['probeNum 1.5', { probeNum: 1.5 }],
    ['negative wait', { probeWaitMs: -1 }],
    ['min above max', { probeMinMs: 3, probeMaxMs: 2 }],
    ['NaN', { announceWaitMs: Number.NaN }],
  ])('rejects timings with %s', (_n, bad) => {
    expect(() =>
      stepProbe(initialProbeState, { type: 'start', now: 0 }, { timings: { ...RFC5227_TIMINGS, ...bad } }),
    ).toThrow(RangeError);
  });
});

describe('probe properties', () => {
  const timings = fc
    .record({
      probeWaitMs: fc.nat(2000),
      probeNum: fc.integer({ min: 1, max: 5 }),
      probeMinMs: fc.nat(1000),
      extra: fc.nat(1000),
      announceWaitMs: fc.nat(3000),
      defendIntervalMs: fc.nat(20_000),
    })
    .map(({ extra, ...t }) => ({ ...t, probeMaxMs: t.probeMinMs + extra }));
  it('without conflicts: exactly probeNum probes, gaps within [min, max], claimed announceWait after the last', () => {
    fc.assert(
      fc.property(timings, fc.double({ min: 0, max: 1, noNaN: true }), (t, r) => {
        const { state, log } = drive({ timings: t }, r, 1e9);
        const probes = log.filter((l) => l.action.type === 'sendProbe').map((l) => l.at);
        expect(probes.length).toBe(t.probeNum);
        expect(probes[0]).toBeLessThanOrEqual(t.probeWaitMs);
        for (let i = 1; i < probes.length; i++) {
          const gap = (probes[i] as number) - (probes[i - 1] as number);
          expect(gap).toBeGreaterThanOrEqual(t.probeMinMs);
          expect(gap).toBeLessThanOrEqual(t.probeMaxMs);
        }
        const claimed = log.filter((l) => l.action.type === 'claimed');
        expect(claimed).toEqual([
          { at: (probes.at(-1) as number) + t.announceWaitMs, action: { type: 'claimed' } },
        ]);
        expect(state.phase).toBe('announced');
      }),
    );
  });
  it('any conflict before the claim ends in "conflict" and nothing is claimed', () => {
    fc.assert(
      fc.property(
        timings,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (t, r, where) => {
          const total = drive({ timings: t }, r, 1e9).log.at(-1)?.at ?? 0;
          const at = Math.floor(total * where) - 1;
          fc.pre(at >= 0);
          const { state, log } = drive({ timings: t }, r, 1e9, [{ at, mac: 'rival' }]);
          expect(state.phase).toBe('conflict');
          expect(log.some((l) => l.action.type === 'claimed')).toBe(false);
        },
      ),
    );
  });
});
