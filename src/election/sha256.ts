// A small pure SHA-256 (FIPS 180-4) so the election can reproduce MetalLB's order, sha256(node + "#" + ip),
// without importing node:crypto into the pure core. Cost: O(n) in the input, about a microsecond for the
// short strings the election hashes; checked against node:crypto by sha256.test.ts.

const K = Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const H0 = Uint32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/**
 * Scratch space reused by every call (the function is synchronous, so calls never overlap): the padded
 * message, the message schedule and the state. The election hashes a few short strings per Service on every
 * plan; without these each hash allocated six typed arrays (each with its own backing store), which made most
 * of a plan's garbage.
 */
let block = new Uint8Array(128);
const w = new Uint32Array(64);
const state = new Uint32Array(8);

/** sha256 returns the 32-byte SHA-256 digest of the bytes; it is pure and never throws. */
export function sha256(message: Uint8Array): Uint8Array {
  const len = message.length;
  const blocks = clearBlocks(len);
  block.set(message);
  return digest(len, blocks);
}

/**
 * clearBlocks zeroes (growing it if needed) as much of the scratch block as a message of len bytes fills once
 * padded — 0x80, zeros, then the bit length as a 64-bit big-endian integer, to a multiple of 64 bytes — and
 * returns that many 64-byte blocks.
 */
function clearBlocks(len: number): number {
  const blocks = Math.ceil((len + 9) / 64);
  if (block.length < blocks * 64) block = new Uint8Array(blocks * 64);
  block.fill(0, 0, blocks * 64);
  return blocks;
}

/** digest hashes the first `len` bytes already in `block`, padding them first. */
function digest(len: number, blocks: number): Uint8Array {
  const data = block;
  const end = blocks * 64;
  data[len] = 0x80;
  const bitsHigh = Math.floor(len / 0x20000000);
  const bitsLow = (len * 8) >>> 0;
  data[end - 8] = bitsHigh >>> 24;
  data[end - 7] = (bitsHigh >>> 16) & 255;
  data[end - 6] = (bitsHigh >>> 8) & 255;
  data[end - 5] = bitsHigh & 255;
  data[end - 4] = bitsLow >>> 24;
  data[end - 3] = (bitsLow >>> 16) & 255;
  data[end - 2] = (bitsLow >>> 8) & 255;
  data[end - 1] = bitsLow & 255;

  const h = state;
  h.set(H0);
  for (let b = 0; b < blocks; b++) {
    for (let i = 0, o = b * 64; i < 16; i++, o += 4)
      w[i] =
        (((data[o] as number) << 24) |
          ((data[o + 1] as number) << 16) |
          ((data[o + 2] as number) << 8) |
          (data[o + 3] as number)) >>>
        0;
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15] as number;
      const y = w[i - 2] as number;
      const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
      const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
      w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) >>> 0;
    }
    let a = h[0] as number;
    let bb = h[1] as number;
    let c = h[2] as number;
    let d = h[3] as number;
    let e = h[4] as number;
    let f = h[5] as number;
    let g = h[6] as number;
    let hh = h[7] as number;
    for (let i = 0; i < 64; i++) {
      const t1 =
        (hh +
          (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
          ((e & f) ^ (~e & g)) +
          (K[i] as number) +
          (w[i] as number)) >>>
        0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = ((h[0] as number) + a) >>> 0;
    h[1] = ((h[1] as number) + bb) >>> 0;
    h[2] = ((h[2] as number) + c) >>> 0;
    h[3] = ((h[3] as number) + d) >>> 0;
    h[4] = ((h[4] as number) + e) >>> 0;
    h[5] = ((h[5] as number) + f) >>> 0;
    h[6] = ((h[6] as number) + g) >>> 0;
    h[7] = ((h[7] as number) + hh) >>> 0;
  }
  // 32 bytes: V8 keeps a typed array this small inside its heap, with no backing store of its own
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = h[i] as number;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = (v >>> 16) & 255;
    out[i * 4 + 2] = (v >>> 8) & 255;
    out[i * 4 + 3] = v & 255;
  }
  return out;
}

const utf8 = new TextEncoder();

/** sha256Text returns the SHA-256 digest of a string's UTF-8 bytes, as Go's sha256.Sum256([]byte(s)) does. */
export function sha256Text(text: string): Uint8Array {
  const len = text.length;
  // ASCII (node names, addresses: the election's inputs) is copied straight into the scratch block
  let ascii = true;
  for (let i = 0; i < len; i++) if (text.charCodeAt(i) > 0x7f) ascii = false;
  if (!ascii) return sha256(utf8.encode(text));
  const blocks = clearBlocks(len);
  for (let i = 0; i < len; i++) block[i] = text.charCodeAt(i);
  return digest(len, blocks);
}

/** compareBytes orders byte strings lexicographically, like Go's bytes.Compare: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
