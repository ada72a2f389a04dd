import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BfddResponder, bfdKey, bfdProfileCommands } from './bfdd.ts';

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

  it('sweeps the directories of killed speakers only', () => {
    const parent = mkdtempSync(join(tmpdir(), 'ironlb-bfdd-test-'));
    try {
      const old = Date.now() / 1000 - 3600;
      const make = (name: string, pid: number | undefined, age = old) => {
        const dir = join(parent, name);
        mkdirSync(dir);
        if (pid !== undefined) writeFileSync(join(dir, 'bfdd.pid'), `${pid}\n`);
        utimesSync(dir, age, age);
        return dir;
      };
      const dead = make('ironlb-bfdd-n1-1', 2 ** 22 + 12345);
      const empty = make('ironlb-bfdd-n2-2', undefined);
      make('ironlb-bfdd-n3-3', process.pid); // its process runs
      make('ironlb-bfdd-n4-4', undefined, Date.now() / 1000); // just created
      make('other-5', undefined);
      expect(BfddResponder.sweep(parent, 'ironlb-bfdd-').sort()).toEqual([dead, empty]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
