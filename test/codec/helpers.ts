// Shared test helpers for the codec: the demo model's BF16 tensors, a slow bit-by-bit model of the
// reference encoding loop (df11-format.md §12) to check the fast encoder against, and search helpers
// that build inputs whose streams end at a chosen place.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildHuffmanCode, streamBits, type HuffmanCode } from '../../src/codec/huffman-build.js';
import { sharedDemoModelDir } from '../helpers/paths.js';

/** The demo model's BF16 tensors by name (header parsed here: 8-byte LE length, then JSON). */
export function readDemoBf16(): Map<string, Uint16Array> {
  const buf = readFileSync(join(sharedDemoModelDir(), 'model.safetensors'));
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const tensors = new Map<string, Uint16Array>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__' || info.dtype !== 'BF16') continue;
    const [start, end] = info.data_offsets;
    const bytes = buf.subarray(8 + headerLen + start, 8 + headerLen + end);
    const copy = new Uint16Array(bytes.length / 2);
    new Uint8Array(copy.buffer).set(bytes);
    tensors.set(name, copy);
  }
  return tensors;
}

/** The attrs of a Llama layer unit, in the published pattern-dict order (df11-format.md §2.4). */
export const LLAMA_LAYER_ATTRS = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
] as const;

export function concat(parts: readonly Uint16Array[]): Uint16Array {
  const out = new Uint16Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function sha256(bytes: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest('hex');
}

/** BF16 bit patterns from exponents, with sign/mantissa bytes from a simple seeded generator. */
export function bf16FromExponents(exponents: ArrayLike<number>, seed = 1): Uint16Array {
  const out = new Uint16Array(exponents.length);
  let s = seed >>> 0;
  for (let i = 0; i < exponents.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const sm = s >>> 24;
    out[i] = ((sm & 0x80) << 8) | (exponents[i]! << 7) | (sm & 0x7f);
  }
  return out;
}

/** What the reference loop produces, computed bit by bit from the code table. */
export interface ModelStream {
  encoded: Uint8Array;
  /** Unpacked gap per window (512K entries). */
  gaps: number[];
  op: number[];
  streamBits: number;
}

/**
 * The reference encoding loop (§12), transcribed literally with a bit array: mark() before each
 * symbol and before the EOF tail, the tail keeps only the EOF bits that complete the last byte.
 */
export function modelEncode(exponents: ArrayLike<number>, code: HuffmanCode): ModelStream {
  const bits: number[] = [];
  const gaps: number[] = [];
  const op: number[] = [];
  const mark = (count: number): void => {
    if (Math.floor(bits.length / 64) >= gaps.length) gaps.push(bits.length % 64);
    if (Math.floor(bits.length / 32768) >= op.length) op.push(count);
  };
  const put = (len: number, value: number): void => {
    for (let b = len - 1; b >= 0; b--) bits.push(Math.floor(value / 2 ** b) % 2);
  };
  for (let i = 0; i < exponents.length; i++) {
    mark(i);
    const e = exponents[i]!;
    put(code.lengths[e]!, code.codes[e]!);
  }
  const s = bits.length;
  if (s % 8 !== 0) {
    mark(exponents.length);
    put(code.eofLength, code.eofCode);
    const end = Math.ceil(s / 8) * 8; // the EOF code is cut at the byte boundary, or zero-padded to it
    if (bits.length > end) bits.length = end;
    while (bits.length < end) bits.push(0);
  }
  op.push(exponents.length);
  const encoded = new Uint8Array(bits.length / 8);
  for (let i = 0; i < bits.length; i++) encoded[i >> 3]! |= bits[i]! << (7 - (i & 7));
  const chunks = Math.ceil(encoded.length / 4096);
  while (gaps.length < 512 * chunks) gaps.push(0);
  return { encoded, gaps, op, streamBits: s };
}

/** A small fixed-shape histogram whose most common exponent (127) has a variable count. */
const SEARCH_BASE: ReadonlyArray<readonly [number, number]> = [
  [126, 2600],
  [128, 1900],
  [125, 800],
  [129, 300],
  [124, 100],
  [130, 40],
  [123, 9],
  [131, 3],
  [122, 1],
];

/**
 * Finds, by scanning the count of exponent 127, an exponent sequence whose stream length S satisfies
 * `want(S, code)`; `last` (if given) is placed at the end. The order is a fixed interleaving, so the
 * result is deterministic. Returns the exponents and the code.
 */
export function findStream(want: (s: number, code: HuffmanCode) => boolean, last?: number): { exponents: Uint8Array; code: HuffmanCode; s: number } {
  for (let c = 9000; c < 60000; c++) {
    const hist = new Array<number>(256).fill(0);
    for (const [e, f] of SEARCH_BASE) hist[e] = f;
    hist[127] = c;
    const code = buildHuffmanCode(hist);
    const s = streamBits(hist, code);
    if (!want(s, code)) continue;
    const exponents: number[] = [];
    const left = hist.slice();
    if (last !== undefined) left[last]!--;
    // Round-robin over the exponents so that rare ones are spread through the stream.
    for (let more = true; more; ) {
      more = false;
      for (let e = 0; e < 256; e++) {
        if (left[e]! > 0) {
          exponents.push(e);
          left[e]!--;
          more = true;
        }
      }
    }
    if (last !== undefined) exponents.push(last);
    return { exponents: Uint8Array.from(exponents), code, s };
  }
  throw new Error('findStream: no count in range gives the wanted stream length');
}
