/** DecodeFailureReason names why bytes could not be decoded: too short for the layout, or a field out of range. */
export type DecodeFailureReason = 'truncated' | 'malformed';

/**
 * Decoded is the result of every decoder in src/packet: the value, or a named reason with a human detail.
 * Decoders never throw, whatever bytes they are given (checked by the fuzz tests).
 */
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: DecodeFailureReason; detail: string };

/** decodeOk wraps a decoded value. */
export function decodeOk<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

/** decodeFail names why decoding failed. */
export function decodeFail<T>(reason: DecodeFailureReason, detail: string): Decoded<T> {
  return { ok: false, reason, detail };
}

/** view returns a DataView over exactly the bytes of a Uint8Array (respecting its offset into the buffer). */
export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
