// Address conflict detection before and after an address is announced: RFC 5227 (IPv4 ARP probes) and
// RFC 4862 §5.4 (IPv6 duplicate address detection) as one pure state machine. The edge feeds it events
// (start, timer fired, conflicting frame seen, stop) with the current time and a random number, and carries
// out the actions it returns: send a probe, send a defending announcement, report a conflict, start
// announcing. Frames are recognised as conflicts by classifyFrame (src/packet/classify.ts).

/** ProbeTimings are the protocol constants, in milliseconds, made options so takeover can be sub-second. */
export interface ProbeTimings {
  /** probeWaitMs: the first probe goes out after a random delay in [0, probeWaitMs]. */
  probeWaitMs: number;
  /** probeNum: how many probes to send (≥ 1). */
  probeNum: number;
  /** probeMinMs, probeMaxMs: the random gap between probes. */
  probeMinMs: number;
  probeMaxMs: number;
  /** announceWaitMs: how long to keep listening after the last probe before claiming the address. */
  announceWaitMs: number;
  /** defendIntervalMs: at most one defending announcement per this interval (RFC 5227 §2.4). */
  defendIntervalMs: number;
}

/** RFC5227_TIMINGS are RFC 5227 §1.1's constants: about 7 s from start to claim. */
export const RFC5227_TIMINGS: Readonly<ProbeTimings> = {
  probeWaitMs: 1000,
  probeNum: 3,
  probeMinMs: 1000,
  probeMaxMs: 2000,
  announceWaitMs: 2000,
  defendIntervalMs: 10_000,
};

/**
 * RFC4862_TIMINGS are IPv6 DAD's defaults: a random delay up to MAX_RTR_SOLICITATION_DELAY (1 s), one NS
 * (DupAddrDetectTransmits), then RetransTimer (1 s) of listening.
 */
export const RFC4862_TIMINGS: Readonly<ProbeTimings> = {
  probeWaitMs: 1000,
  probeNum: 1,
  probeMinMs: 1000,
  probeMaxMs: 1000,
  announceWaitMs: 1000,
  defendIntervalMs: 10_000,
};

/**
 * FAST_TIMINGS claim an address in 150–300 ms on a LAN, for first announcements that must not wait seconds:
 * three probes 50–100 ms apart, then 150 ms of listening. Hosts on a LAN answer ARP/NS in well under that.
 */
export const FAST_TIMINGS: Readonly<ProbeTimings> = {
  probeWaitMs: 0,
  probeNum: 3,
  probeMinMs: 50,
  probeMaxMs: 100,
  announceWaitMs: 150,
  defendIntervalMs: 10_000,
};

/**
 * DefendPolicy is RFC 5227 §2.4's choice when another host claims an announced address: "never" gives it up at
 * once (a), "once" defends one time per defend interval and gives up on a second conflict inside it (b),
 * "always" defends at most once per interval and never gives up (c).
 */
export type DefendPolicy = 'never' | 'once' | 'always';

/** ProbePhase is where an address stands: idle, probing, listening after the last probe, announced, or in conflict. */
export type ProbePhase = 'idle' | 'probing' | 'listening' | 'announced' | 'conflict';

/** ProbeState is the state of one address; treat it as immutable and keep the one stepProbe returns. */
export interface ProbeState {
  phase: ProbePhase;
  probesSent: number;
  /** nextAt: when the edge must deliver a timer event; undefined when nothing is pending. */
  nextAt?: number;
  lastDefenseAt?: number;
  /** conflict: the host that took the address, once phase is "conflict". */
  conflict?: { mac: string; at: number; while: 'probing' | 'announced' };
}

/** ProbeEvent is something that happened: time is passed in, and random numbers in [0, 1) for the jitter. */
export type ProbeEvent =
  | { type: 'start'; now: number; random?: number }
  | { type: 'timer'; now: number; random?: number }
  | { type: 'conflict'; now: number; mac: string }
  | { type: 'stop' };

/**
 * ProbeAction is what the edge must do: send one probe (ARP probe or DAD NS), start announcing (the address is
 * ours; run the gratuitous schedule), send one defending announcement, or report a conflict (the address is
 * given up when gaveUp is true).
 */
export type ProbeAction =
  | { type: 'sendProbe' }
  | { type: 'claimed' }
  | { type: 'defend'; mac: string }
  | { type: 'conflict'; mac: string; while: 'probing' | 'announced'; gaveUp: boolean };

/** ProbeOptions bundles timings (default RFC5227_TIMINGS) and the defend policy (default "once"). */
export interface ProbeOptions {
  timings?: Readonly<ProbeTimings>;
  defend?: DefendPolicy;
}

/** initialProbeState is the idle state of an address nobody started probing. */
export const initialProbeState: ProbeState = { phase: 'idle', probesSent: 0 };

/** ProbeStep is stepProbe's answer: the next state and the actions to carry out, in order. */
export interface ProbeStep {
  state: ProbeState;
  actions: ProbeAction[];
}

/**
 * stepProbe advances one address's conflict detection by one event. Guarantees: it is pure; a timer event before
 * nextAt changes nothing; probing sends exactly probeNum probes, gaps drawn in whole ms from [probeMin, probeMax], then
 * listens announceWaitMs before "claimed"; any conflict before "claimed" gives the address up; after "claimed",
 * conflicts follow the defend policy and defences are at least defendIntervalMs apart. It throws RangeError for
 * timings that could not be met (negative times, probeNum < 1, probeMin > probeMax).
 */
export function stepProbe(state: ProbeState, event: ProbeEvent, options: ProbeOptions = {}): ProbeStep {
  const t = options.timings ?? RFC5227_TIMINGS;
  checkTimings(t);
  switch (event.type) {
    case 'stop':
      return { state: initialProbeState, actions: [] };
    case 'start': {
      const first = event.now + jitter(0, t.probeWaitMs, event.random);
      return advance({ phase: 'probing', probesSent: 0, nextAt: first }, event.now, event.random, t);
    }
    case 'timer':
      return advance(state, event.now, event.random, t);
    case 'conflict':
      return onConflict(state, event.now, event.mac, t, options.defend ?? 'once');
  }
}

// One step per call: gaps are measured from the moment a probe really went out (RFC 5227 §2.1.1 spaces the
// probes themselves), so a late timer delays the sequence instead of bunching probes together.
function advance(
  state: ProbeState,
  now: number,
  random: number | undefined,
  t: Readonly<ProbeTimings>,
): ProbeStep {
  if (state.nextAt === undefined || state.nextAt > now) return { state, actions: [] };
  if (state.phase === 'probing') {
    const sent = state.probesSent + 1;
    const gap = jitter(t.probeMinMs, t.probeMaxMs, random);
    const next: ProbeState =
      sent < t.probeNum
        ? { phase: 'probing', probesSent: sent, nextAt: now + gap }
        : { phase: 'listening', probesSent: sent, nextAt: now + t.announceWaitMs };
    return { state: next, actions: [{ type: 'sendProbe' }] };
  }
  if (state.phase === 'listening') {
    return { state: { phase: 'announced', probesSent: state.probesSent }, actions: [{ type: 'claimed' }] };
  }
  return { state, actions: [] };
}

function onConflict(
  state: ProbeState,
  now: number,
  mac: string,
  t: Readonly<ProbeTimings>,
  policy: DefendPolicy,
): ProbeStep {
  switch (state.phase) {
    case 'idle':
    case 'conflict':
      return { state, actions: [] };
    case 'probing':
    case 'listening':
      return {
        state: {
          phase: 'conflict',
          probesSent: state.probesSent,
          conflict: { mac, at: now, while: 'probing' },
        },
        actions: [{ type: 'conflict', mac, while: 'probing', gaveUp: true }],
      };
    case 'announced': {
      const canDefend = state.lastDefenseAt === undefined || now - state.lastDefenseAt >= t.defendIntervalMs;
      if (policy === 'never' || (policy === 'once' && !canDefend)) {
        return {
          state: {
            phase: 'conflict',
            probesSent: state.probesSent,
            conflict: { mac, at: now, while: 'announced' },
          },
          actions: [{ type: 'conflict', mac, while: 'announced', gaveUp: true }],
        };
      }
      const report: ProbeAction = { type: 'conflict', mac, while: 'announced', gaveUp: false };
      if (!canDefend) return { state, actions: [report] };
      return { state: { ...state, lastDefenseAt: now }, actions: [report, { type: 'defend', mac }] };
    }
  }
}

// A whole number of ms in [min, max] (timers have ms resolution; whole numbers keep the arithmetic exact).
function jitter(min: number, max: number, random: number | undefined): number {
  return Math.min(max, Math.max(min, Math.round(min + (max - min) * clamp01(random))));
}

function clamp01(r: number | undefined): number {
  if (r === undefined || Number.isNaN(r)) return 0.5;
  return Math.min(Math.max(r, 0), 1);
}

function checkTimings(t: Readonly<ProbeTimings>): void {
  const values = [t.probeWaitMs, t.probeMinMs, t.probeMaxMs, t.announceWaitMs, t.defendIntervalMs];
  if (
    values.some((v) => !(v >= 0)) ||
    !(t.probeNum >= 1) ||
    !Number.isInteger(t.probeNum) ||
    t.probeMinMs > t.probeMaxMs
  ) {
    throw new RangeError(
      `Invalid probe timings ${JSON.stringify(t)}: times must be ≥ 0, probeNum ≥ 1, probeMin ≤ probeMax`,
    );
  }
}
