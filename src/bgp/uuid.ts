// The handle gobgpd returns from AddPath. A DeletePath without a uuid (and without a path) withdraws EVERY
// locally originated path (gobgp pkg/server/server.go DeletePath), so the only way to name a path for deletion
// here is a PathUuid, and the only ways to get one validate it.

declare const pathUuidBrand: unique symbol;

/**
 * PathUuid is the canonical lowercase `8-4-4-4-12` text of a 16-byte uuid that gobgpd gave for an added path.
 * Branded: obtain it from pathUuidFromBytes or parsePathUuid, never by a cast. Never the nil uuid.
 */
export type PathUuid = string & { readonly [pathUuidBrand]: true };

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** pathUuidFromBytes converts the 16 bytes of AddPathResponse.uuid; throws a TypeError for any other length or the nil uuid. */
export function pathUuidFromBytes(bytes: Uint8Array): PathUuid {
  if (bytes.length !== 16) {
    throw new TypeError(`Invalid path uuid: expected 16 bytes from gobgpd, got ${bytes.length}`);
  }
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return parsePathUuid(
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
  );
}

/** parsePathUuid validates uuid text (any case) and returns its canonical form; throws a TypeError when invalid or nil. */
export function parsePathUuid(text: string): PathUuid {
  const canonical = text.toLowerCase();
  if (!UUID_TEXT.test(canonical) || canonical === NIL_UUID) {
    throw new TypeError(`Invalid path uuid "${text}": a DeletePath needs a non-nil 16-byte uuid`);
  }
  return canonical as PathUuid;
}

/** pathUuidToBytes returns the 16 bytes of a uuid, after checking it again (a cast cannot smuggle an empty one). */
export function pathUuidToBytes(uuid: PathUuid): Uint8Array {
  const canonical = parsePathUuid(uuid).replaceAll('-', '');
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number.parseInt(canonical.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** encodeBase64 encodes bytes as standard padded base64, the JSON form protobuf `bytes` fields accept. */
export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i] ?? 0;
    const b1 = bytes[i + 1] ?? 0;
    const b2 = bytes[i + 2] ?? 0;
    const n = (b0 << 16) | (b1 << 8) | b2;
    out += BASE64[(n >> 18) & 63];
    out += BASE64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? BASE64[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? BASE64[n & 63] : '=';
  }
  return out;
}
