import { describe, expect, it } from 'vitest';
import {
  CONFLICT_CONDITION,
  decodeConflict,
  describeConflict,
  encodeInUse,
  encodeReassigned,
} from './conflict.ts';

const at = '2026-01-02T03:04:05.000Z';

describe('the AddressConflict condition codec', () => {
  it('reads back what a speaker writes, whatever the message would say in prose', () => {
    const c = encodeInUse({ ip: '192.0.2.50', mac: '02:00:00:00:00:99', node: 'n1', interfaceName: 'eth0' });
    expect(c).toMatchObject({ type: CONFLICT_CONDITION, status: 'True', reason: 'AddressInUse' });
    expect(decodeConflict([{ ...c, lastTransitionTime: at }])).toEqual({
      ips: ['192.0.2.50'],
      active: true,
      at: Date.parse(at),
      detectedBy: 'n1',
      mac: '02:00:00:00:00:99',
      interfaceName: 'eth0',
    });
  });

  it('reads back what the controller writes once the Service moved', () => {
    const c = encodeReassigned({
      ips: ['192.0.2.50', '2001:db8::5'],
      detectedBy: 'n1',
      movedTo: ['192.0.2.51'],
    });
    expect(c).toMatchObject({ status: 'False', reason: 'Reassigned' });
    const d = decodeConflict([
      { type: 'Other', status: 'True' },
      { ...c, lastTransitionTime: new Date(at) },
    ]);
    expect(d).toMatchObject({ ips: ['192.0.2.50', '2001:db8::5'], active: false, detectedBy: 'n1' });
    expect(d?.movedTo).toEqual(['192.0.2.51']);
    expect(describeConflict(d!)).toBe(
      'Address "192.0.2.50" and "2001:db8::5" in use by another host (seen by n1 on the network): moved to ["192.0.2.51"]',
    );
  });

  it('ignores conditions it did not write: none, other reasons, prose, no addresses', () => {
    expect(decodeConflict(undefined)).toBeUndefined();
    expect(decodeConflict([])).toBeUndefined();
    const base = { type: CONFLICT_CONDITION, status: 'True', reason: 'AddressInUse' };
    expect(decodeConflict([{ ...base, message: 'Address "192.0.2.1" is already in use' }])).toBeUndefined();
    expect(decodeConflict([{ ...base, message: '{"addresses":[]}' }])).toBeUndefined();
    expect(decodeConflict([{ ...base, message: '["192.0.2.1"]' }])).toBeUndefined();
    expect(
      decodeConflict([
        { ...base, status: 'False', reason: 'Resolved', message: '{"addresses":["192.0.2.1"]}' },
      ]),
    ).toBeUndefined();
  });

  it('describes an active conflict as the speaker saw it', () => {
    const c = encodeInUse({ ip: '192.0.2.50', mac: '02:00:00:00:00:99', node: 'n1', interfaceName: 'eth0' });
    expect(describeConflict(decodeConflict([c])!)).toBe(
      'Address "192.0.2.50" is already in use by another host (MAC 02:00:00:00:00:99), seen by n1 on eth0',
    );
  });
});
