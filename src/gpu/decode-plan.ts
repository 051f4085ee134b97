// Host-side planning of the decode dispatches of one unit: which chunks each dispatch covers, and the
// windows of the tensor buffers it binds. Splitting at chunk boundaries keeps every binding under
// maxStorageBufferBindingSize (128 MiB by default) and every dispatch under
// maxComputeWorkgroupsPerDimension; chunks are independent (df11-format.md §8.4).
//
// Padded buffer layout (gpu-unit.ts) that the windows rely on:
//   enc  4096K + 16 bytes (zero past B: the last chunk's windows and look-ahead read zeros)
//   gaps 320K + 4 bytes   (the read-past-end byte of §6 is a zero)
//   sm   align16(N + 8) bytes
// and the output buffer extends to outputEndBytes (a multiple of 16).
import { CHUNK_BYTES, GAP_BYTES_PER_CHUNK } from '../codec/constants.js';

/** Bytes past the last chunk of encoded_exponent: look-ahead word + the next chunk's first code. */
export const ENC_TAIL_BYTES = 16;
/** Bytes past the last gaps byte (the §6 read-past-end byte, rounded to a word). */
export const GAPS_TAIL_BYTES = 4;
/** Bytes past N in sign_mantissa (the kernel reads 4-byte groups through two words). */
export const SM_TAIL_BYTES = 8;
/** Elements before a dispatch's first element whose sign_mantissa bytes a 4-element group may touch. */
const SM_LEAD_ELEMENTS = 4;
/** Elements after a dispatch's last element that a group may touch (the seam element + its group). */
const SM_TRAIL_ELEMENTS = 8;
/** The output window is bound in whole pairs of u32 words. */
const OUT_PAIR_BYTES = 8;
/** Output buffers extend to a multiple of this many bytes (outputEndBytes). */
const OUTPUT_END_ALIGN = 16;
/** Size of one Params struct slot in the uniform buffer (minUniformBufferOffsetAlignment <= 256). */
export const PARAMS_SLOT_BYTES = 256;
/** u32 fields of the kernel's Params struct. */
export const PARAMS_WORDS = 12;

/** The sizes a plan needs from a validated unit. */
export interface PlanGeometry {
  elements: number;
  streamBytes: number;
  chunks: number;
  decodeRows: number;
  /** Stored output_positions entries: K or K+1. */
  opEntries: number;
  /** op with K+1 entries (op[K] = N). */
  op: Uint32Array;
}

export interface PlanLimits {
  maxStorageBufferBindingSize: number;
  minStorageBufferOffsetAlignment: number;
  maxComputeWorkgroupsPerDimension: number;
  /** Upper bound on chunks per dispatch (tests use tiny values to force splitting). */
  maxChunksPerDispatch?: number;
}

/** A byte range of one buffer bound for a dispatch. */
export interface Window {
  offset: number;
  size: number;
}

export interface DispatchPlan {
  firstChunk: number;
  chunkCount: number;
  enc: Window;
  gaps: Window;
  sm: Window;
  out: Window;
  /** The kernel's Params struct, in field order. */
  params: Uint32Array;
}

export function paddedEncBytes(chunks: number): number {
  return CHUNK_BYTES * chunks + ENC_TAIL_BYTES;
}
export function paddedGapsBytes(chunks: number): number {
  return GAP_BYTES_PER_CHUNK * chunks + GAPS_TAIL_BYTES;
}
export function paddedSmBytes(elements: number): number {
  // Whole 16-byte vectors: the indexed kernel binds sign_mantissa windows in 16-byte units.
  return align(elements + SM_TAIL_BYTES, 16);
}
/**
 * Bytes of output buffer a unit of N elements needs at `outOffsetBytes`: up to the end of its last
 * output word, rounded up to 16 bytes. The indexed kernel reads and rewrites the unit's last 16-byte
 * vector (keeping the bytes past the unit), and the chunk kernel binds the output as pairs of words;
 * the bytes past the unit's last word are never changed.
 */
export function outputEndBytes(elements: number, outOffsetBytes: number, output: DecodeOutput = 'bf16'): number {
  return align(outOffsetBytes + OUTPUT_BYTES[output] * elements, OUTPUT_END_ALIGN);
}

/** What a decode writes: BF16 values, or the exponent plane (one byte per element; decode.wgsl EXPONENT_PLANE). */
export type DecodeOutput = 'bf16' | 'exponents';
/** Bytes per element of each output. */
export const OUTPUT_BYTES: Readonly<Record<DecodeOutput, number>> = { bf16: 2, exponents: 1 };

/** The largest x in [lo, hi] with ok(x), where ok holds at lo and, once false, stays false (binary search). */
export function largestWhere(lo: number, hi: number, ok: (x: number) => boolean): number {
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function align(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}
function alignDown(v: number, a: number): number {
  return Math.floor(v / a) * a;
}

/**
 * The windows of a dispatch over chunks [c0, c1) for output starting at element slot h (half-words
 * for BF16, bytes for the exponent plane; `per` elements per u32 word).
 */
function windows(g: PlanGeometry, c0: number, c1: number, h: number, per: number, alignment: number) {
  const first = g.op[c0]!;
  const last = g.op[c1]!;
  const encStart = CHUNK_BYTES * c0;
  const enc = { offset: encStart, size: CHUNK_BYTES * c1 + ENC_TAIL_BYTES - encStart };
  const gapsStart = alignDown(GAP_BYTES_PER_CHUNK * c0, alignment);
  const gaps = { offset: gapsStart, size: GAP_BYTES_PER_CHUNK * c1 + GAPS_TAIL_BYTES - gapsStart };
  const smStart = alignDown(Math.max(first - SM_LEAD_ELEMENTS, 0), alignment);
  const smEnd = Math.min(align(last + SM_TRAIL_ELEMENTS, 4), paddedSmBytes(g.elements));
  const sm = { offset: smStart, size: smEnd - smStart };
  const outStart = alignDown(4 * Math.floor((h + first) / per), alignment);
  const outEnd = 4 * Math.ceil((h + last) / per);
  const out = { offset: outStart, size: align(outEnd - outStart, OUT_PAIR_BYTES) };
  return { first, enc, gaps, sm, out };
}

/**
 * Splits a unit's K chunks into dispatches and computes each one's windows and Params, for output
 * written at byte `outOffsetBytes` of the output buffer (even for BF16).
 * @throws RangeError if a single chunk does not fit the limits (impossible for valid limits).
 */
export function planDispatches(g: PlanGeometry, limits: PlanLimits, outOffsetBytes: number, output: DecodeOutput = 'bf16'): DispatchPlan[] {
  const bytes = OUTPUT_BYTES[output];
  if (outOffsetBytes % bytes !== 0) throw new RangeError(`output offset ${outOffsetBytes} is not a multiple of ${bytes} bytes`);
  const h = outOffsetBytes / bytes;
  const per = 4 / bytes;
  const alignment = limits.minStorageBufferOffsetAlignment;
  const maxChunks = Math.max(1, Math.min(limits.maxComputeWorkgroupsPerDimension, limits.maxChunksPerDispatch ?? Infinity));
  const maxBinding = limits.maxStorageBufferBindingSize;
  const fits = (c0: number, c1: number): boolean => {
    const w = windows(g, c0, c1, h, per, alignment);
    return Math.max(w.enc.size, w.gaps.size, w.sm.size, w.out.size) <= maxBinding;
  };
  const plans: DispatchPlan[] = [];
  let c0 = 0;
  while (c0 < g.chunks) {
    if (!fits(c0, c0 + 1)) throw new RangeError(`chunk ${c0} does not fit a ${maxBinding}-byte binding`);
    // Largest c1 with fits(c0, c1): window sizes grow with c1, so binary search.
    const c1 = largestWhere(c0 + 1, Math.min(g.chunks, c0 + maxChunks), (c) => fits(c0, c));
    const w = windows(g, c0, c1, h, per, alignment);
    const params = new Uint32Array(PARAMS_WORDS);
    params.set([
      c0,
      c1 - c0,
      g.chunks,
      g.elements,
      g.opEntries,
      g.decodeRows,
      w.first,
      w.enc.offset / 4,
      w.gaps.offset,
      w.sm.offset,
      h + w.first - w.out.offset / bytes,
      g.streamBytes,
    ]);
    plans.push({ firstChunk: c0, chunkCount: c1 - c0, enc: w.enc, gaps: w.gaps, sm: w.sm, out: w.out, params });
    c0 = c1;
  }
  return plans;
}
