// A recording L2 wire for the speaker's tests: what the L2 announcer asks of the wire, kept for assertions,
// and the hooks it gave the wire, so a test can report conflicts and claims as the responders would.
import type { Desired } from '../../speaker/l2-announcer.ts';
import type { L2Wire, L2WireHooks } from '../../speaker/l2-protocol.ts';

/** RecordingWire is a fake L2Wire: applied plans and quiesce/close calls in order, answering on eth0. */
export interface RecordingWire {
  applied: Desired[];
  calls: string[];
  /** hooks: what the announcer passed to the wire (set once the wire is made). */
  hooks: L2WireHooks | undefined;
  make(hooks: L2WireHooks): L2Wire;
}

/** recordingWire returns a fresh RecordingWire. */
export function recordingWire(): RecordingWire {
  const w: RecordingWire = {
    applied: [],
    calls: [],
    hooks: undefined,
    make: (hooks) => {
      w.hooks = hooks;
      return {
        apply: (d) => void w.applied.push(d),
        announcedOn: () => ['eth0'],
        conflicts: new Map(),
        localMacs: () => [],
        eligibleInterfaces: () => ['eth0'],
        quiesce: () => void w.calls.push('quiesce'),
        close: () => void w.calls.push('close'),
      };
    },
  };
  return w;
}
