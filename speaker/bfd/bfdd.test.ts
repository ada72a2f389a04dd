import { describe, expect, it } from 'vitest';
import { bfdKey, bfdProfileCommands } from './bfdd.ts';

describe('bfdd configuration', () => {
  it('renders every knob of a BFDProfile, so re-applying resets it exactly', () => {
    expect(
      bfdProfileCommands({
        name: 'fast',
        receiveInterval: 100,
        transmitInterval: 150,
        detectMultiplier: 4,
        echoInterval: 50,
        echoMode: true,
        passiveMode: false,
        minimumTtl: 250,
      }),
    ).toEqual([
      'profile fast',
      'detect-multiplier 4',
      'receive-interval 100',
      'transmit-interval 150',
      'echo receive-interval 50',
      'echo transmit-interval 50',
      'echo-mode',
      'no passive-mode',
      'minimum-ttl 250',
      'exit',
    ]);
  });

  it('keys a peer the way the bfdd "peer" command does', () => {
    expect(bfdKey({ peer: '192.0.2.1', local: '192.0.2.11', multihop: false })).toBe(
      '192.0.2.1 local-address 192.0.2.11',
    );
    expect(bfdKey({ peer: '2001:db8::1', multihop: true })).toBe('2001:db8::1 multihop');
  });
});
