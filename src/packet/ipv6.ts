import { ipv6FromBytes, ipv6ToBytes } from './address.ts';
import { decodeFail, decodeOk, view, type Decoded } from './decoded.ts';

/** IPV6_HEADER_LENGTH is the length of the fixed IPv6 header. */
export const IPV6_HEADER_LENGTH = 40;
/** NEXT_HEADER_ICMPV6 is the IPv6 next-header value of ICMPv6. */
export const NEXT_HEADER_ICMPV6 = 58;

/** IPv6Packet is a decoded IPv6 header and its payload (a view, without link-layer padding). */
export interface IPv6Packet {
  trafficClass: number;
  flowLabel: number;
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
  payload: Uint8Array;
}

/** IPv6Input is what encodeIPv6 needs; traffic class and flow label default to 0. */
export interface IPv6Input {
  trafficClass?: number;
  flowLabel?: number;
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
  payload: Uint8Array;
}

/**
 * decodeIPv6 reads the fixed IPv6 header and cuts the payload to its declared length, dropping Ethernet padding.
 * Extension headers are not walked: nextHeader is the first one. It never throws: a short packet is "truncated",
 * a version other than 6 or a zero payload length (jumbogram) is "malformed".
 */
export function decodeIPv6(bytes: Uint8Array): Decoded<IPv6Packet> {
  if (bytes.length < IPV6_HEADER_LENGTH) {
    return decodeFail('truncated', `IPv6 packet has ${bytes.length} bytes, needs ${IPV6_HEADER_LENGTH}`);
  }
  const dv = view(bytes);
  const first = dv.getUint32(0);
  if (first >>> 28 !== 6) return decodeFail('malformed', `IPv6 packet has version ${first >>> 28}`);
  const length = dv.getUint16(4);
  if (length === 0)
    return decodeFail('malformed', 'IPv6 packet has payload length 0 (jumbograms are not supported)');
  if (bytes.length < IPV6_HEADER_LENGTH + length) {
    return decodeFail(
      'truncated',
      `IPv6 payload length ${length} exceeds the ${bytes.length - IPV6_HEADER_LENGTH} bytes present`,
    );
  }
  return decodeOk({
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    nextHeader: bytes[6] as number,
    hopLimit: bytes[7] as number,
    src: ipv6FromBytes(bytes, 8),
    dst: ipv6FromBytes(bytes, 24),
    payload: bytes.subarray(IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + length),
  });
}

/** encodeIPv6 writes an IPv6 header followed by the payload; it throws RangeError for a payload over 65535 bytes. */
export function encodeIPv6(input: IPv6Input): Uint8Array {
  if (input.payload.length > 0xffff) {
    throw new RangeError(`IPv6 payload of ${input.payload.length} bytes exceeds 65535`);
  }
  const out = new Uint8Array(IPV6_HEADER_LENGTH + input.payload.length);
  const dv = view(out);
  dv.setUint32(
    0,
    (6 << 28) | (((input.trafficClass ?? 0) & 0xff) << 20) | ((input.flowLabel ?? 0) & 0xfffff),
  );
  dv.setUint16(4, input.payload.length);
  out[6] = input.nextHeader;
  out[7] = input.hopLimit;
  out.set(ipv6ToBytes(input.src), 8);
  out.set(ipv6ToBytes(input.dst), 24);
  out.set(input.payload, IPV6_HEADER_LENGTH);
  return out;
}

/**
 * icmpv6Checksum computes the ICMPv6 checksum over the RFC 8200 §8.1 pseudo-header (source, destination,
 * upper-layer length, next header 58) and the message, whose checksum field (bytes 2–3) is treated as zero.
 */
export function icmpv6Checksum(src: string, dst: string, message: Uint8Array): number {
  let sum = 0;
  const add16 = (bytes: Uint8Array, skipChecksum: boolean): void => {
    for (let i = 0; i < bytes.length; i += 2) {
      if (skipChecksum && i === 2) continue;
      sum += ((bytes[i] as number) << 8) | (bytes[i + 1] ?? 0);
    }
  };
  add16(ipv6ToBytes(src), false);
  add16(ipv6ToBytes(dst), false);
  sum += message.length >>> 16;
  sum += message.length & 0xffff;
  sum += NEXT_HEADER_ICMPV6;
  add16(message, true);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** Icmpv6Message is a decoded ICMPv6 message; body is everything after type, code and checksum. */
export interface Icmpv6Message {
  type: number;
  code: number;
  body: Uint8Array;
}

/**
 * decodeIcmpv6 reads an ICMPv6 message and verifies its checksum against the IPv6 addresses. It never throws:
 * fewer than 4 bytes is "truncated", a wrong checksum is "malformed".
 */
export function decodeIcmpv6(src: string, dst: string, message: Uint8Array): Decoded<Icmpv6Message> {
  if (message.length < 4)
    return decodeFail('truncated', `ICMPv6 message has ${message.length} bytes, needs 4`);
  const got = view(message).getUint16(2);
  const want = icmpv6Checksum(src, dst, message);
  if (got !== want) {
    return decodeFail(
      'malformed',
      `ICMPv6 checksum 0x${got.toString(16)} is wrong, expected 0x${want.toString(16)}`,
    );
  }
  return decodeOk({ type: message[0] as number, code: message[1] as number, body: message.subarray(4) });
}

/** encodeIcmpv6 writes an ICMPv6 message with its checksum filled in for the given IPv6 addresses. */
export function encodeIcmpv6(src: string, dst: string, msg: Icmpv6Message): Uint8Array {
  const out = new Uint8Array(4 + msg.body.length);
  out[0] = msg.type;
  out[1] = msg.code;
  out.set(msg.body, 4);
  view(out).setUint16(2, icmpv6Checksum(src, dst, out));
  return out;
}
