// The golden requests of src/bgp must survive protobuf encoding with the real GoBGP protos: every field name and
// Any @type must exist (protobufjs silently drops unknown fields and encodes an unresolvable Any as empty).

import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goldenCases } from '../../src/bgp/testdata/golden-cases.ts';
import { assertKnownAnyTypes, GOBGP_PROTO_DIR, loadGobgpPackage } from './gobgp.ts';

const requestTypes: Record<string, string> = {
  'start-bgp': 'StartBgp',
  'add-path-ipv4': 'AddPath',
  'add-path-ipv4-aggregated-ibgp': 'AddPath',
  'add-path-ipv6': 'AddPath',
  'add-path-ipv6-aggregated': 'AddPath',
  'delete-path': 'DeletePath',
  'add-peer-ebgp': 'AddPeer',
  'add-peer-ibgp-md5-ipv6': 'AddPeer',
  'add-peer-ebgp-multihop-dualstack': 'AddPeer',
  'add-peer-graceful-restart': 'AddPeer',
  'delete-peer': 'DeletePeer',
};

/** Every leaf of `expected` is in `actual` (numbers may come back as strings: uint64; bytes as Buffer). */
function expectContained(expected: unknown, actual: unknown, where: string): void {
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), where).toBe(true);
    expect((actual as unknown[]).length, where).toBe(expected.length);
    expected.forEach((item, i) => expectContained(item, (actual as unknown[])[i], `${where}[${i}]`));
  } else if (typeof expected === 'object' && expected !== null) {
    for (const [key, value] of Object.entries(expected)) {
      expect(actual, `${where}.${key}`).toHaveProperty([key]);
      expectContained(value, (actual as Record<string, unknown>)[key], `${where}.${key}`);
    }
  } else if (actual instanceof Uint8Array) {
    expect(Buffer.from(actual).toString('base64'), where).toBe(expected);
  } else {
    expect(String(actual), where).toBe(String(expected));
  }
}

describe.skipIf(!existsSync(GOBGP_PROTO_DIR))('GoBGP proto encoding', () => {
  const pkg = loadGobgpPackage();
  const service = pkg['apipb.GobgpApi'] as unknown as Record<
    string,
    { requestSerialize: (v: object) => Buffer; requestDeserialize: (b: Buffer) => unknown }
  >;

  it('covers every golden case', () => {
    expect(Object.keys(requestTypes).sort()).toEqual(Object.keys(goldenCases).sort());
  });

  for (const [name, render] of Object.entries(goldenCases)) {
    it(`${name} round-trips through apipb.${requestTypes[name]}Request`, () => {
      const method = service[requestTypes[name] ?? ''];
      if (method === undefined) throw new Error(`no method for ${name}`);
      const request = render() as object;
      assertKnownAnyTypes(pkg, request);
      const decoded = method.requestDeserialize(method.requestSerialize(request));
      expectContained(request, decoded, name);
    });
  }

  it('refuses an Any whose type is not loaded', () => {
    const request = {
      path: { nlri: { '@type': 'type.googleapis.com/apipb.NoSuchPrefix', prefix: '192.0.2.1' } },
    };
    expect(() => assertKnownAnyTypes(pkg, request)).toThrow(
      'Cannot encode request.path.nlri: unknown Any type',
    );
  });
});
