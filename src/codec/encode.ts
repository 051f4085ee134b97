// DF11 encoder (df11-format.md §12): histogram -> code -> LUTs -> one pass that writes the bitstream,
// the sign/mantissa bytes, the window gaps and the chunk output positions. Byte-identical to the
// reference compressor (modulo the documented tie policy and the one-exponent LUT fill).
//
// The stream length S = sum(count x length) is known from the histogram, so B, K and every output are
// preallocated before the single pass (encode-kernel.ts). That pass records a gap / output position
// whenever a stored word completes a window / chunk; the tail fix-up below removes the entries the
// reference would not write because no code starts after them (§6, §7, including the short case).
// Where WebAssembly is available, the histogram and the stream loop run in its kernels instead
// (wasm/encode-wasm.ts; the same bytes); this file's loop stays the readable reference and fallback.
import { Df11Error } from '../errors.js';
import { CHUNK_BITS, CHUNK_BYTES, MAX_CODE_BITS, WINDOW_BITS, WINDOWS_PER_CHUNK } from './constants.js';
import { buildDecodeTables } from './decode-table.js';
import { encodePiece, kernelTables, type EncoderState } from './encode-kernel.js';
import { packGaps } from './gaps.js';
import { exponentHistogram, EXPONENT_VALUES } from './histogram.js';
import { buildHuffmanCode, streamBits, type HuffmanCode, type LimiterTie, type LimiterTiePolicy } from './huffman-build.js';
import { writeOutputPositions } from './output-positions.js';
import type { Df11Unit } from './unit.js';
import { encodeStreamWasm, exponentHistogramWasm, selectEncodeKernel, type EncodeKernel } from './wasm/encode-wasm.js';
import type { CodecWasm } from './wasm/codec-wasm.js';

/** Largest N and B: the reference kernel takes them as signed 32-bit ints (§10 item 5). */
export const MAX_UNIT_ELEMENTS = 2 ** 31 - 1;
export const MAX_STREAM_BYTES = 2 ** 31 - 1;
const WORD_BITS = 32;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Encodes one unit given as one flat BF16 array (bit patterns). `pieceSizes` are the element counts of
 * the unit's attrs in order (default: one piece), giving `split_positions`.
 * @throws Df11Error 'unit-invalid' (empty unit, bad piece sizes, N or B >= 2^31),
 *   'exponent-unencodable', 'ambiguous-limiter-tie', 'too-many-lut-rows'.
 */
export function encodeUnit(bf16: Uint16Array, pieceSizes: readonly number[] = [bf16.length], options: EncodeOptions = {}): Df11Unit {
  let total = 0;
  for (const s of pieceSizes) {
    if (!(Number.isSafeInteger(s) && s > 0)) throw new Df11Error('unit-invalid', `piece size ${s} is not a positive integer`);
    total += s;
  }
  if (total !== bf16.length) throw new Df11Error('unit-invalid', `piece sizes sum to ${total}, but the unit has ${bf16.length} elements`);
  return encodeWithSplits([bf16], splitsOf(pieceSizes), options);
}

/** How to build a unit's code (huffman-build.ts). */
export interface EncodeOptions {
  /** The length limiter's tie policy (default `lowest-exponent`). */
  ties?: LimiterTiePolicy;
  /** Called with the limiter ties resolved by the policy, when there were any. */
  onLimiterTies?: (ties: LimiterTie[]) => void;
  /**
   * Histogram and stream loop: 'auto' (default) uses the WebAssembly kernels where WebAssembly is
   * available and the TypeScript ones otherwise, 'wasm' requires WebAssembly, 'js' uses TypeScript.
   * The output is the same bytes.
   */
  kernel?: EncodeKernel;
}

/**
 * Encodes one unit given as its attr weights in order (each a flat BF16 array), without concatenating
 * them. Equivalent to `encodeUnit(concat(pieces), pieces.map(p => p.length))`.
 */
export function encodeUnitPieces(pieces: readonly Uint16Array[], options: EncodeOptions = {}): Df11Unit {
  for (const p of pieces) if (p.length === 0) throw new Df11Error('unit-invalid', 'a unit piece has no elements');
  return encodeWithSplits(pieces, splitsOf(pieces.map((p) => p.length)), options);
}

/**
 * Encodes pieces with a given code (which must cover every exponent present). For tests and tools
 * that study codes; normal callers use {@link encodeUnitPieces}, which builds the reference's code.
 */
export function encodeUnitPiecesWithCode(pieces: readonly Uint16Array[], code: HuffmanCode, luts: Uint8Array = buildDecodeTables(code)): Df11Unit {
  const wasm = selectEncodeKernel(undefined);
  const hist = histogramOf(pieces, wasm);
  const unit = encodeStream(pieces, hist, code, wasm);
  unit.luts = luts;
  unit.splitPositions = new BigInt64Array(splitsOf(pieces.map((p) => p.length)).map(BigInt));
  return unit;
}

function splitsOf(sizes: readonly number[]): number[] {
  const splits: number[] = [];
  let acc = 0;
  for (let i = 0; i + 1 < sizes.length; i++) splits.push((acc += sizes[i]!));
  return splits;
}

function encodeWithSplits(pieces: readonly Uint16Array[], splits: number[], options: EncodeOptions): Df11Unit {
  if (pieces.every((p) => p.length === 0)) throw new Df11Error('unit-invalid', 'a unit needs at least one element');
  const wasm = selectEncodeKernel(options.kernel);
  const hist = histogramOf(pieces, wasm);
  const code = buildHuffmanCode(hist, options.ties === undefined ? {} : { ties: options.ties });
  if (code.limiterTies.length > 0) options.onLimiterTies?.(code.limiterTies);
  const luts = buildDecodeTables(code);
  const unit = encodeStream(pieces, hist, code, wasm);
  unit.luts = luts;
  unit.splitPositions = new BigInt64Array(splits.map(BigInt));
  return unit;
}

/** Exponent counts of all pieces, with the WebAssembly kernel when given. */
function histogramOf(pieces: readonly Uint16Array[], wasm: CodecWasm | undefined): Float64Array {
  const hist = new Float64Array(EXPONENT_VALUES);
  if (wasm) exponentHistogramWasm(wasm, pieces, hist);
  else for (const p of pieces) exponentHistogram(p, hist);
  return hist;
}

/** The stream tensors, by the WebAssembly stream loop when `wasm` is given, else by encode-kernel.ts. */
function encodeStream(pieces: readonly Uint16Array[], hist: Float64Array, code: HuffmanCode, wasm?: CodecWasm): Df11Unit {
  let n = 0;
  for (const p of pieces) n += p.length;
  if (n === 0) throw new Df11Error('unit-invalid', 'a unit needs at least one element');
  if (n > MAX_UNIT_ELEMENTS) throw new Df11Error('unit-invalid', `unit has ${n} elements; the format allows fewer than 2^31`);
  const s = streamBits(hist, code);
  const bytes = Math.ceil(s / 8);
  if (bytes > MAX_STREAM_BYTES) throw new Df11Error('unit-invalid', `encoded stream would have ${bytes} bytes; the format allows fewer than 2^31`);
  const chunks = Math.ceil(bytes / CHUNK_BYTES);
  const windows = chunks * WINDOWS_PER_CHUNK;

  for (let e = 0; e < EXPONENT_VALUES; e++) {
    if (code.lengths[e]! > MAX_CODE_BITS) throw new RangeError(`encode: code of exponent ${e} has ${code.lengths[e]} bits`);
  }
  if (wasm) return encodeStreamWasm(wasm, pieces, code, s);
  const encoded = new Uint8Array(bytes);
  const sm = new Uint8Array(n);
  const state: EncoderState = {
    acc: 0,
    fill: 0,
    words: 0,
    count: 0,
    out: new Uint32Array(encoded.buffer, 0, Math.floor(bytes / 4)),
    sm,
    sm32: new Uint32Array(sm.buffer, 0, Math.floor(n / 4)),
    gaps: new Uint8Array(windows + 1),
    op: new Float64Array(chunks + 2),
    ...kernelTables(code),
    scratch: null,
  };
  // gaps[0] = 0 and op[0] = 0: the first code starts at bit 0.
  for (const p of pieces) encodePiece(p, state);

  const { fill, words } = state;
  const total = words * WORD_BITS + fill;
  if (total !== s) throw new Error(`encode: wrote ${total} bits, expected ${s} (input changed during encoding?)`);
  let acc = state.acc;
  let opEntries: number; // entries recorded before the final N (§12)
  if (fill % 8 !== 0) {
    // EOF tail: its first bits complete the last byte; the rest is dropped (§5). EOF starts at S.
    const eofAligned = code.eofLength > 0 ? code.eofCode << (WORD_BITS - code.eofLength) : 0;
    acc |= eofAligned >>> fill;
    opEntries = Math.floor(s / CHUNK_BITS) + 1;
  } else {
    // No EOF: the last code start is the last symbol's. Bookkeeping done at a word store after it
    // (gap of a window / position of a chunk where no code starts) must be undone.
    const lastLen = lastSymbolLength(pieces, code);
    const lastStart = s - lastLen;
    opEntries = Math.floor(lastStart / CHUNK_BITS) + 1;
    state.gaps.fill(0, Math.floor(lastStart / WINDOW_BITS) + 1);
  }
  for (let b = words * 4, shift = 24; b < bytes; b++, shift -= 8) encoded[b] = (acc >>> shift) & 0xff;
  if (!HOST_LITTLE_ENDIAN) byteSwapWords(state.out);

  const op = state.op;
  op[opEntries] = n;
  return {
    luts: new Uint8Array(0),
    encodedExponent: encoded,
    signMantissa: state.sm,
    outputPositions: writeOutputPositions(op, opEntries + 1),
    gaps: packGaps(state.gaps.subarray(0, windows)),
    splitPositions: new BigInt64Array(0),
  };
}

function lastSymbolLength(pieces: readonly Uint16Array[], code: HuffmanCode): number {
  for (let i = pieces.length - 1; i >= 0; i--) {
    const p = pieces[i]!;
    if (p.length > 0) return code.lengths[(p[p.length - 1]! >>> 7) & 0xff]!;
  }
  return 0;
}

function byteSwapWords(words: Uint32Array): void {
  for (let i = 0; i < words.length; i++) {
    const x = words[i]!;
    words[i] = (x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
  }
}
