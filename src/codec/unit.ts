/**
 * One DF11 unit in memory: the six tensors exactly as they are stored on disk (df11-format.md §3).
 * Everything is raw bytes, so a unit read from a file can be handed to any decoder unchanged.
 */
export interface Df11Unit {
  /** U8 [R+1, 256]: R decode rows, then the code-length row. */
  luts: Uint8Array;
  /** U8 [B]: the Huffman bitstream, MSB-first, with the EOF tail byte. */
  encodedExponent: Uint8Array;
  /** U8 [N]: sign bit (bit 7) and 7 mantissa bits of each weight. Defines N. */
  signMantissa: Uint8Array;
  /** U8 [4(K+1)] (or [4K] in the rare short case): little-endian uint32 first-element index per chunk. */
  outputPositions: Uint8Array;
  /** U8 [320K]: 512K five-bit window offsets, packed MSB-first. */
  gaps: Uint8Array;
  /** I64: cumulative element counts of the unit's pieces, without the last one. */
  splitPositions: BigInt64Array;
}

/** Bytes of a unit's five byte tensors (split_positions, a few bytes, left out). */
export function unitByteTensorsLength(u: Df11Unit): number {
  return u.luts.length + u.encodedExponent.length + u.signMantissa.length + u.outputPositions.length + u.gaps.length;
}

/** The DF11 field names, in the order the reference writes them, and their dtypes. */
export const UNIT_FIELDS = [
  ['luts', 'U8'],
  ['encoded_exponent', 'U8'],
  ['sign_mantissa', 'U8'],
  ['output_positions', 'U8'],
  ['gaps', 'U8'],
  ['split_positions', 'I64'],
] as const;

export type UnitFieldName = (typeof UNIT_FIELDS)[number][0];
