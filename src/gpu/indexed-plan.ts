// Host-side planning of the indexed decode (kernels/decode-indexed.wgsl): one invocation per group of
// INDEX_GROUP output elements, whose code starts at the bit the unit's index gives. A unit is split into
// dispatches of whole groups so that every binding stays under maxStorageBufferBindingSize; the
// encoded_exponent window of a dispatch is found from output_positions (the chunks holding the codes of
// its first and last elements, plus the look-ahead past the last one).
import { CHUNK_BYTES } from '../codec/constants.js';
import { ENC_TAIL_BYTES, largestWhere, OUTPUT_BYTES, paddedEncBytes, PARAMS_WORDS, type DecodeOutput, type PlanGeometry, type PlanLimits, type Window } from './decode-plan.js';

export interface IndexedPlanLimits extends PlanLimits {
  /** Upper bound on groups per dispatch (tests use tiny values to force splitting). */
  maxGroupsPerDispatch?: number;
  /** Invocations per workgroup of the kernel (default INDEXED_WORKGROUP_SIZE). */
  workgroupSize?: number;
}

/** Elements per index entry (decode.wgsl INDEX_GROUP, decode-indexed.wgsl G). */
export const INDEX_GROUP = 64;
/**
 * Invocations per workgroup of the indexed kernel: small workgroups wait less at their one barrier for
 * their slowest group (H100: 64 beat 128 by ~10 % and 256 by ~25 %, dev/kernels/README.md).
 */
export const INDEXED_WORKGROUP_SIZE = 64;
/** The indexed kernel reads and writes 16-byte vectors. */
export const VECTOR_BYTES = 16;
/** Bit positions are u32: streams must end below this many bits (with room for the look-ahead). */
export const MAX_INDEXED_STREAM_BITS = 2 ** 32 - 8 * CHUNK_BYTES;

export interface IndexedDispatch {
  firstGroup: number;
  groupCount: number;
  enc: Window;
  sm: Window;
  out: Window;
  /** Workgroups in x and y. */
  grid: [number, number];
  params: Uint32Array;
}

/** Groups (index entries) of a unit of N elements. */
export function indexGroups(elements: number): number {
  return Math.ceil(elements / INDEX_GROUP);
}

/** Groups per u32 base of the resident index (index-pack.wgsl SPAN). */
export const INDEX_SPAN = 16;

/**
 * Bytes of the full index decode.wgsl's INDEX_OUTPUT writes: one u32 per group, whole 8-byte pairs
 * (it writes through a vec2<u32> view). Temporary: index-pack.wgsl packs it.
 */
export function fullIndexBytes(elements: number): number {
  return Math.max(8, Math.ceil(indexGroups(elements) / 2) * 8);
}

/** Word of the resident index where the u16 offsets start (after the bases, an even count). */
export function indexDeltaBase(elements: number): number {
  return Math.ceil(indexGroups(elements) / (2 * INDEX_SPAN)) * 2;
}

/** Bytes of the resident index: a u32 base per 16 groups, then a u16 offset per group. */
export function indexBytes(elements: number): number {
  return 4 * (indexDeltaBase(elements) + Math.ceil(indexGroups(elements) / 2));
}

/** True when the indexed kernel can decode this unit at this output offset. */
export function indexedDecodable(g: PlanGeometry, outOffsetBytes: number): boolean {
  return g.elements > 0 && outOffsetBytes % VECTOR_BYTES === 0 && 8 * g.streamBytes < MAX_INDEXED_STREAM_BITS;
}

function align(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}
function alignDown(v: number, a: number): number {
  return Math.floor(v / a) * a;
}

/** The chunk where the code of element e starts: the last chunk c with op[c] <= e. */
function chunkOf(op: Uint32Array, chunks: number, e: number): number {
  return largestWhere(0, chunks - 1, (c) => op[c]! <= e);
}

function windows(g: PlanGeometry, g0: number, g1: number, outOffsetBytes: number, bytes: number, alignment: number) {
  const first = g0 * INDEX_GROUP;
  const last = Math.min(g1 * INDEX_GROUP, g.elements) - 1;
  const c0 = chunkOf(g.op, g.chunks, first);
  const c1 = chunkOf(g.op, g.chunks, last);
  const encStart = CHUNK_BYTES * c0;
  const enc = { offset: encStart, size: Math.min(CHUNK_BYTES * (c1 + 1) + ENC_TAIL_BYTES, paddedEncBytes(g.chunks)) - encStart };
  const smStart = alignDown(first, alignment);
  const sm = { offset: smStart, size: align(last + 1, VECTOR_BYTES) - smStart };
  const outStart = alignDown(outOffsetBytes + bytes * first, alignment);
  const out = { offset: outStart, size: align(outOffsetBytes + bytes * (last + 1), VECTOR_BYTES) - outStart };
  return { enc, sm, out };
}

/**
 * Splits a unit's groups into dispatches and computes each one's windows and Params, for output at
 * byte `outOffsetBytes` (a multiple of 16) of the output buffer.
 */
export function planIndexedDispatches(g: PlanGeometry, limits: IndexedPlanLimits, outOffsetBytes: number, output: DecodeOutput): IndexedDispatch[] {
  if (!indexedDecodable(g, outOffsetBytes)) throw new RangeError('the indexed decoder cannot decode this unit at this offset');
  const bytes = OUTPUT_BYTES[output];
  const groups = indexGroups(g.elements);
  const alignment = limits.minStorageBufferOffsetAlignment;
  const maxBinding = limits.maxStorageBufferBindingSize;
  const perDim = limits.maxComputeWorkgroupsPerDimension;
  const wg = limits.workgroupSize ?? INDEXED_WORKGROUP_SIZE;
  const maxGroups = Math.max(1, Math.min(perDim * perDim * wg, limits.maxGroupsPerDispatch ?? Infinity));
  const fits = (g0: number, g1: number): boolean => {
    const w = windows(g, g0, g1, outOffsetBytes, bytes, alignment);
    return Math.max(w.enc.size, w.sm.size, w.out.size) <= maxBinding;
  };
  const plans: IndexedDispatch[] = [];
  let g0 = 0;
  while (g0 < groups) {
    if (!fits(g0, g0 + 1)) throw new RangeError(`group ${g0} does not fit a ${maxBinding}-byte binding`);
    const g1 = largestWhere(g0 + 1, Math.min(groups, g0 + maxGroups), (x) => fits(g0, x));
    const w = windows(g, g0, g1, outOffsetBytes, bytes, alignment);
    const workgroups = Math.ceil((g1 - g0) / wg);
    const x = Math.min(workgroups, perDim);
    const y = Math.ceil(workgroups / x);
    const params = new Uint32Array(PARAMS_WORDS);
    params.set([
      g0,
      g1 - g0,
      g.elements,
      g.decodeRows,
      w.enc.offset / 4,
      w.sm.offset / VECTOR_BYTES,
      (outOffsetBytes + bytes * g0 * INDEX_GROUP - w.out.offset) / VECTOR_BYTES,
      groups,
      g.streamBytes,
      x * wg,
      indexDeltaBase(g.elements),
    ]);
    plans.push({ firstGroup: g0, groupCount: g1 - g0, enc: w.enc, sm: w.sm, out: w.out, grid: [x, y], params });
    g0 = g1;
  }
  return plans;
}
