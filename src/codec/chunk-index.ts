// The structural checks a chunk-parallel decoder relies on before touching any chunk (df11-format.md
// §10 #2-#6): `luts` (validateLuts, as the serial decoder does), sizes of the stream tensors, the chunk
// count, `gaps` and `output_positions` lengths, and the `op` values. `split_positions` is not needed
// to decode and is not checked here. Consistency of `gaps`/`op` with the bitstream itself is checked
// while decoding (decode-chunked.ts).
import { Df11Error } from '../errors.js';
import { CHUNK_BYTES, GAP_BYTES_PER_CHUNK } from './constants.js';
import { decodeLutsOf, type DecodeLuts } from './fast-table.js';
import { OUTPUT_POSITION_BYTES } from './output-positions.js';
import type { Df11Unit } from './unit.js';
import { validateLuts, type UnitContext } from './validate-unit.js';

/** Largest N and B: the reference kernel indexes with signed 32-bit ints (§10 #5). */
const MAX_SIZE = 2 ** 31 - 1;

/** What the chunk decoders know about a unit after {@link readChunkIndex}. */
export interface ChunkIndex {
  /** N, weights in the unit. */
  elements: number;
  /** B, bytes of `encoded_exponent`. */
  streamBytes: number;
  /** K = ceil(B / 4096). */
  chunks: number;
  /** `op` as K+1 entries; in the rare short case (K stored entries) `op[K] = N` (§7). */
  op: Uint32Array;
  /** The checked `luts`. */
  luts: DecodeLuts;
}

/**
 * Validates the structure of `unit` and reads its chunk index.
 *
 * Contract: `luts` passes validateLuts; 1 <= N, B < 2^31 (an empty unit is rejected, as §10 #3
 * requires and as the encoder and serial decoder do); len(gaps) = 320K; len(output_positions) in
 * {4K, 4(K+1)}; op[0] = 0, op non-decreasing, last stored entry = N.
 * @throws Df11Error 'unit-invalid' naming the context's file/tensor on any violation.
 */
export function readChunkIndex(unit: Df11Unit, context: UnitContext = {}): ChunkIndex {
  const fail = (detail: string): never => {
    throw new Df11Error('unit-invalid', detail, context);
  };
  const decodeRows = validateLuts(unit.luts, context);
  const elements = unit.signMantissa.length;
  const streamBytes = unit.encodedExponent.length;
  if (elements < 1 || elements > MAX_SIZE) fail(`sign_mantissa: ${elements} elements; expected 1..${MAX_SIZE}`);
  if (streamBytes < 1 || streamBytes > MAX_SIZE) fail(`encoded_exponent: ${streamBytes} bytes; expected 1..${MAX_SIZE}`);
  const chunks = Math.ceil(streamBytes / CHUNK_BYTES);
  if (unit.gaps.length !== GAP_BYTES_PER_CHUNK * chunks) {
    fail(`gaps: ${unit.gaps.length} bytes; expected ${GAP_BYTES_PER_CHUNK * chunks} for ${chunks} chunks`);
  }
  const opBytes = unit.outputPositions;
  const stored = opBytes.length / OUTPUT_POSITION_BYTES;
  if (stored !== chunks && stored !== chunks + 1) {
    fail(`output_positions: ${opBytes.length} bytes; expected ${OUTPUT_POSITION_BYTES * (chunks + 1)} (or ${OUTPUT_POSITION_BYTES * chunks}) for ${chunks} chunks`);
  }
  const view = new DataView(opBytes.buffer, opBytes.byteOffset, opBytes.byteLength);
  const op = new Uint32Array(chunks + 1);
  let prev = 0;
  for (let i = 0; i < stored; i++) {
    const v = view.getUint32(i * OUTPUT_POSITION_BYTES, true);
    if (i === 0 && v !== 0) fail(`output_positions[0] is ${v}; expected 0`);
    if (v < prev) fail(`output_positions[${i}] = ${v} is below output_positions[${i - 1}] = ${prev}`);
    op[i] = v;
    prev = v;
  }
  if (prev !== elements) fail(`output_positions ends with ${prev}; expected N = ${elements}`);
  if (stored === chunks) op[chunks] = elements;
  return { elements, streamBytes, chunks, op, luts: decodeLutsOf(unit.luts, decodeRows) };
}
