import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../packet/hex.ts';
import { compareBytes, sha256, sha256Text } from './sha256.ts';

describe('sha256', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
  ])('FIPS 180-4 example %j', (text, digest) => {
    expect(bytesToHex(sha256Text(text))).toBe(digest);
  });
  it('agrees with node:crypto on any input, including lengths around the 55/56/64-byte padding edges', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(bytesToHex(sha256(b))).toBe(createHash('sha256').update(b).digest('hex'));
      }),
      { numRuns: 500 },
    );
    for (let n = 50; n < 135; n++) {
      const b = new Uint8Array(n).fill(n);
      expect(bytesToHex(sha256(b))).toBe(createHash('sha256').update(b).digest('hex'));
    }
  });
  it('sha256Text agrees with node:crypto on any text, one call after another (the scratch block is reused)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 140 }), fc.string({ unit: 'binary', maxLength: 40 })), {
          maxLength: 4,
        }),
        (texts) => {
          for (const t of texts)
            expect(bytesToHex(sha256Text(t))).toBe(createHash('sha256').update(t, 'utf8').digest('hex'));
        },
      ),
      { numRuns: 200 },
    );
    // a long message, then a short one: nothing of the first may leak into the second's padding
    for (const n of [300, 3, 130, 55, 56, 64, 0]) {
      const t = 'n'.repeat(n);
      expect(bytesToHex(sha256Text(t))).toBe(createHash('sha256').update(t).digest('hex'));
    }
  });
  it('hashes text as UTF-8', () => {
    expect(bytesToHex(sha256Text('nöde-1#2001:db8::1'))).toBe(
      createHash('sha256').update('nöde-1#2001:db8::1', 'utf8').digest('hex'),
    );
  });
  it('compareBytes orders like Go bytes.Compare', () => {
    expect(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(2), Uint8Array.of(1, 3))).toBeGreaterThan(0);
    expect(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(1, 0), Uint8Array.of(1, 0))).toBe(0);
  });
});
