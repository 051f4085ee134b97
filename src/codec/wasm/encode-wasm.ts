// Host side of the WebAssembly encoder kernels (assembly/codec/encode.ts): the exponent histogram and
// the stream-building loop of df11-format.md §12, fed tile by tile (ENCODE_TILE_ELEMENTS weights) so
// WebAssembly memory stays at its fixed ~2.5 MiB whatever the unit's size. The Huffman code, the
// length limiter and the LUTs are built in TypeScript (huffman-build.ts, decode-table.ts), as for the
// TypeScript encoder; the output is byte-identical to encode.ts's own stream loop (encode-kernel.ts).
import { CHUNK_BYTES, WINDOWS_PER_CHUNK } from '../constants.js';
import { packGaps } from '../gaps.js';
import { EXPONENT_VALUES } from '../histogram.js';
import type { HuffmanCode } from '../huffman-build.js';
import { writeOutputPositions } from '../output-positions.js';
import type { Df11Unit } from '../unit.js';
import { codecWasm, type CodecWasm } from './codec-wasm.js';

/** Which kernels encodeUnit uses (EncodeOptions.kernel). */
export type EncodeKernel = 'auto' | 'wasm' | 'js';

/**
 * The module for `kernel`: this thread's for 'auto' (undefined where WebAssembly is unavailable) and
 * 'wasm', none for 'js'.
 * @throws Error for 'wasm' where WebAssembly is unavailable.
 */
export function selectEncodeKernel(kernel: EncodeKernel | undefined): CodecWasm | undefined {
  if (kernel === 'js') return undefined;
  const wasm = codecWasm();
  if (!wasm && kernel === 'wasm') throw new Error('encode: the WebAssembly kernels are not available in this environment');
  return wasm;
}

const WORD_BITS = 32;
const WORD_BYTES = 4;
/** Sub-histograms of the kernel (8 x 256 u32). */
const HIST_SUB_TABLES = 8;
/** Pair-table entries (two exponents) and the joined length that marks a pair longer than 32 bits. */
const PAIR_ENTRIES = EXPONENT_VALUES * EXPONENT_VALUES;
const PAIR_TOO_LONG = 255;

/** Units of at least this many weights count exponent pairs (folding 65536 pair counters costs ~0.1 ms). */
const PAIR_MIN_ELEMENTS = 1 << 20;
/** Elements counted before the counters are flushed into doubles (each stays below 2^32). */
const HIST_FLUSH_ELEMENTS = 2 ** 30;
const GROUP_ELEMENTS = 8;

/**
 * Adds the exponent counts of `pieces` to `hist` (256 doubles), like exponentHistogram (histogram.ts)
 * on each piece.
 */
export function exponentHistogramWasm(wasm: CodecWasm, pieces: readonly Uint16Array[], hist: Float64Array): void {
  const at = wasm.layout;
  const x = wasm.exports;
  const tile = at.ENCODE_TILE_ELEMENTS;
  const counters = HIST_SUB_TABLES * EXPONENT_VALUES;
  let total = 0;
  for (const p of pieces) total += p.length;
  const pairs = total >= PAIR_MIN_ELEMENTS;
  wasm.u32.fill(0, at.ENC_HIST >>> 2, (at.ENC_HIST >>> 2) + counters);
  let pending = 0;
  const flush = (): void => {
    if (pairs) x.foldPairHistogram();
    const u32 = wasm.u32;
    const base = at.ENC_HIST >>> 2;
    for (let i = 0; i < counters; i++) hist[i & (EXPONENT_VALUES - 1)]! += u32[base + i]!;
    u32.fill(0, base, base + counters);
    pending = 0;
  };
  for (const piece of pieces) {
    for (let from = 0; from < piece.length; from += tile) {
      const n = Math.min(tile, piece.length - from);
      wasm.u16.set(piece.subarray(from, from + n), at.ENC_SRC >>> 1);
      const grouped = pairs ? n - (n % GROUP_ELEMENTS) : 0;
      if (grouped > 0) x.histogramPairs(grouped);
      if (grouped < n) x.histogram(grouped, n - grouped);
      pending += n;
      if (pending >= HIST_FLUSH_ELEMENTS) flush();
    }
  }
  flush();
}

/** Writes the code tables of `code` (single codes, exponent pairs, lengths) into the module. */
function loadCodeTables(wasm: CodecWasm, code: HuffmanCode): void {
  const at = wasm.layout;
  const u32 = wasm.u32;
  const present: number[] = [];
  const aligned = new Uint32Array(EXPONENT_VALUES);
  const codes = at.ENC_CODES >>> 2;
  for (let e = 0; e < EXPONENT_VALUES; e++) {
    const len = code.lengths[e]!;
    aligned[e] = len === 0 ? 0 : (code.codes[e]! << (WORD_BITS - len)) >>> 0;
    // u64 little-endian: low word = length, high word = left-aligned code.
    u32[codes + 2 * e] = len;
    u32[codes + 2 * e + 1] = aligned[e]!;
    if (len > 0) present.push(e);
  }
  const pairs = at.ENC_PAIRS >>> 2;
  u32.fill(0, pairs, pairs + 2 * PAIR_ENTRIES);
  for (const e1 of present) {
    for (const e0 of present) {
      const l0 = code.lengths[e0]!;
      const len = l0 + code.lengths[e1]!;
      const i = pairs + 2 * (e0 | (e1 << 8));
      if (len > WORD_BITS) {
        u32[i] = PAIR_TOO_LONG;
      } else {
        u32[i] = len;
        u32[i + 1] = (aligned[e0]! | (aligned[e1]! >>> l0)) >>> 0; // l0 < 32 here
      }
    }
  }
  wasm.u8.set(code.lengths, at.ENC_LENGTHS);
}

/**
 * Builds the stream tensors of a unit (`encoded_exponent`, `sign_mantissa`, `output_positions`,
 * `gaps`; `luts` and `split_positions` are left empty for the caller) from its pieces in order, with
 * `code` (which must cover every exponent present) and `streamBits` = S, the stream's length in bits
 * from the histogram. Same bytes as the TypeScript stream loop (encode.ts, encode-kernel.ts).
 * @throws Error when the pieces do not produce S bits (they changed since the histogram).
 */
export function encodeStreamWasm(wasm: CodecWasm, pieces: readonly Uint16Array[], code: HuffmanCode, streamBits: number): Df11Unit {
  const at = wasm.layout;
  const x = wasm.exports;
  let n = 0;
  for (const p of pieces) n += p.length;
  const bytes = Math.ceil(streamBits / 8);
  const chunks = Math.ceil(bytes / CHUNK_BYTES);
  const windows = chunks * WINDOWS_PER_CHUNK;
  const encoded = new Uint8Array(bytes);
  const sm = new Uint8Array(n);
  // Unpacked gaps (window 0's is 0) and output positions (op[0] = 0), filled as windows resolve.
  const gaps = new Uint8Array(windows + 1);
  const op = new Float64Array(chunks + 2);
  let positions = 1;
  const changed = (): Error => new Error('encode: the input produced more bits than its histogram says (input changed during encoding?)');
  const resolve = (last: boolean, eof: boolean): void => {
    const first = x.windowsResolved() + 1;
    const g = x.resolveWindows(last ? 1 : 0, eof ? 1 : 0);
    const q = x.positionsResolved();
    if (first + g > gaps.length || positions + q > op.length - 1) throw changed();
    gaps.set(wasm.u8.subarray(at.ENC_GAPS_OUT, at.ENC_GAPS_OUT + g), first);
    const u32 = wasm.u32;
    for (let i = 0; i < q; i++) op[positions++] = u32[(at.ENC_OPS_OUT >>> 2) + i]!;
  };

  loadCodeTables(wasm, code);
  x.encodeBegin();
  const tile = at.ENCODE_TILE_ELEMENTS;
  let count = 0;
  for (const piece of pieces) {
    for (let from = 0; from < piece.length; from += tile) {
      const len = Math.min(tile, piece.length - from);
      const wordsBefore = x.wordsStored();
      wasm.u16.set(piece.subarray(from, from + len), at.ENC_SRC >>> 1);
      const stored = x.encodeTile(len);
      if ((wordsBefore + stored) * WORD_BYTES > bytes) throw changed();
      const u8 = wasm.u8;
      encoded.set(u8.subarray(at.ENC_WORDS, at.ENC_WORDS + stored * WORD_BYTES), wordsBefore * WORD_BYTES);
      sm.set(u8.subarray(at.ENC_SM, at.ENC_SM + len), count);
      count += len;
      // After the last element, the current position is S, not a code start: the final call resolves it.
      if (count < n) resolve(false, false);
    }
  }
  const words = x.wordsStored();
  const fill = x.pendingCount();
  if (words * WORD_BITS + fill !== streamBits) throw new Error(`encode: wrote ${words * WORD_BITS + fill} bits, expected ${streamBits} (input changed during encoding?)`);
  // EOF tail (§5): its first bits complete the last byte; the rest is dropped. The EOF code starts at S.
  const eof = fill % 8 !== 0;
  resolve(true, eof);
  let acc = x.pendingBits() | 0;
  if (eof && code.eofLength > 0) acc |= (code.eofCode << (WORD_BITS - code.eofLength)) >>> fill;
  for (let b = words * WORD_BYTES, shift = 24; b < bytes; b++, shift -= 8) encoded[b] = (acc >>> shift) & 0xff;
  op[positions] = n;
  return {
    luts: new Uint8Array(0),
    encodedExponent: encoded,
    signMantissa: sm,
    outputPositions: writeOutputPositions(op, positions + 1),
    gaps: packGaps(gaps.subarray(0, windows)),
    splitPositions: new BigInt64Array(0),
  };
}
