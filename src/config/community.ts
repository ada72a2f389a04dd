import type { Community } from './model.ts';

/**
 * CommunityParse is what parseCommunity learned: a community, a value that has the shape of a community but
 * numbers out of range (terminal), or text of another shape, which may be the name of a Community object.
 */
export type CommunityParse =
  { ok: true; community: Community } | { ok: false; shape: 'badValue' | 'notACommunity'; message: string };

const U16 = 0xffff;
const U32 = 0xffffffff;

function field(text: string, max: number): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/**
 * parseCommunity reads a BGP community the way MetalLB does: "65000:100" (two 16-bit numbers) or
 * "large:1:2:3" (three 32-bit numbers). Two or four colon-separated parts with bad numbers are a bad value;
 * any other shape is "notACommunity" (callers then look it up as a Community name). Never throws.
 */
export function parseCommunity(text: string): CommunityParse {
  const parts = text.split(':');
  if (parts.length === 2) {
    const [a = '', b = ''] = parts;
    const asn = field(a, U16);
    const value = field(b, U16);
    if (asn === undefined || value === undefined) {
      return {
        ok: false,
        shape: 'badValue',
        message: `community "${text}" is invalid: both parts must be numbers from 0 to 65535`,
      };
    }
    return { ok: true, community: { kind: 'standard', asn, value } };
  }
  if (parts.length === 4) {
    const [marker, a = '', b = '', c = ''] = parts;
    if (marker !== 'large') {
      return {
        ok: false,
        shape: 'badValue',
        message: `community "${text}" is invalid: a large community is written "large:<global>:<local1>:<local2>"`,
      };
    }
    const global = field(a, U32);
    const local1 = field(b, U32);
    const local2 = field(c, U32);
    if (global === undefined || local1 === undefined || local2 === undefined) {
      return {
        ok: false,
        shape: 'badValue',
        message: `community "${text}" is invalid: large community parts must be numbers from 0 to 4294967295`,
      };
    }
    return { ok: true, community: { kind: 'large', global, local1, local2 } };
  }
  return { ok: false, shape: 'notACommunity', message: `"${text}" is not a community value` };
}

/** formatCommunity writes a community back as "asn:value" or "large:g:l1:l2". */
export function formatCommunity(c: Community): string {
  return c.kind === 'standard' ? `${c.asn}:${c.value}` : `large:${c.global}:${c.local1}:${c.local2}`;
}
