// Picking the fields a cache keeps: the slimming functions beside each reader (src/service/view.ts,
// src/service/endpoints.ts, src/announce/snapshot.ts) build their small copies with these.

/** JsonObject is a decoded JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

/** isJsonObject tells a JSON object from an array, null or a scalar. */
export const isJsonObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * pickDefined returns a new object with those of `keys` that `from` holds with a value other than undefined.
 * Values are shared, not copied. O(keys).
 */
export function pickDefined(from: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}
