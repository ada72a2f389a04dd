// Test helper for the Gateway core's unit tests (kept out of the image by the dockerignore).
import type { Condition } from './types.ts';

/** conds summarises conditions as type → "status/reason", the form the Gateway tests compare. */
export const conds = (list: Condition[] | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
