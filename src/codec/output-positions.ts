// The `output_positions` tensor (df11-format.md §7): little-endian uint32 index of the first element
// whose code starts in each 4096-byte chunk, then N. K+1 entries, or K in the rare short case.

/** Bytes per stored entry. */
export const OUTPUT_POSITION_BYTES = 4;

/** Stores `values[0..count)` as little-endian uint32 bytes. Values must be integers in [0, 2^32). */
export function writeOutputPositions(values: ArrayLike<number>, count: number = values.length): Uint8Array {
  const out = new Uint8Array(count * OUTPUT_POSITION_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) view.setUint32(i * OUTPUT_POSITION_BYTES, values[i]!, true);
  return out;
}

/**
 * Reads `op` as K+1 uint32 entries for a unit of `chunks` = K chunks and `n` = N elements. A stored
 * table of K entries (the rare short case) gets `op[K] = N`, as readers must assume (§7).
 * Does not validate the values; see validate-unit.ts.
 * @throws RangeError when the byte length is neither 4K nor 4(K+1).
 */
export function readOutputPositions(bytes: Uint8Array, chunks: number, n: number): Uint32Array {
  const stored = bytes.length / OUTPUT_POSITION_BYTES;
  if (stored !== chunks && stored !== chunks + 1) {
    throw new RangeError(`output_positions has ${bytes.length} bytes; expected ${OUTPUT_POSITION_BYTES * chunks} or ${OUTPUT_POSITION_BYTES * (chunks + 1)}`);
  }
  const out = new Uint32Array(chunks + 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < stored; i++) out[i] = view.getUint32(i * OUTPUT_POSITION_BYTES, true);
  if (stored === chunks) out[chunks] = n;
  return out;
}
