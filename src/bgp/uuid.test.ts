import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBase64, parsePathUuid, pathUuidFromBytes, pathUuidToBytes, type PathUuid } from './uuid.ts';

describe('PathUuid', () => {
  it('converts gobgpd bytes to canonical text and back', () => {
    const bytes = Uint8Array.from([
      0x3f, 0x25, 0x04, 0xe0, 0x4f, 0x89, 0x41, 0xd3, 0x9a, 0x0c, 0x03, 0x05, 0xe8, 0x2c, 0x33, 0x01,
    ]);
    const uuid = pathUuidFromBytes(bytes);
    expect(uuid).toBe('3f2504e0-4f89-41d3-9a0c-0305e82c3301');
    expect(pathUuidToBytes(uuid)).toEqual(bytes);
    expect(parsePathUuid('3F2504E0-4F89-41D3-9A0C-0305E82C3301')).toBe(uuid);
  });

  it.each([new Uint8Array(0), new Uint8Array(15), new Uint8Array(17), new Uint8Array(16)])(
    'refuses %o (empty, wrong length or nil)',
    (bytes) => {
      expect(() => pathUuidFromBytes(bytes)).toThrow(TypeError);
    },
  );

  it('refuses a cast empty string when encoding', () => {
    expect(() => pathUuidToBytes('' as PathUuid)).toThrow('Invalid path uuid ""');
  });

  it('encodes base64 like Node does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(encodeBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      }),
    );
  });
});
