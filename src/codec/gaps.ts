// The `gaps` tensor (df11-format.md §6): one 5-bit bit offset per 64-bit window, packed MSB-first,
// eight entries per five bytes.
import { GAP_BITS, GAP_BYTES_PER_CHUNK, WINDOWS_PER_CHUNK } from './constants.js';

/** Entries per packing group: 8 entries x 5 bits = 5 bytes. */
const GROUP_ENTRIES = 8;
const GROUP_BYTES = 5;
const GAP_MASK = (1 << GAP_BITS) - 1;

/**
 * Packs `values` (each 0..31; length a multiple of 8, normally 512*K) into `values.length * 5 / 8` bytes.
 */
export function packGaps(values: Uint8Array): Uint8Array {
  if (values.length % GROUP_ENTRIES !== 0) throw new RangeError(`packGaps: ${values.length} entries is not a multiple of ${GROUP_ENTRIES}`);
  const out = new Uint8Array((values.length / GROUP_ENTRIES) * GROUP_BYTES);
  for (let g = 0, o = 0; g < values.length; g += GROUP_ENTRIES, o += GROUP_BYTES) {
    const v0 = values[g]! & GAP_MASK;
    const v1 = values[g + 1]! & GAP_MASK;
    const v2 = values[g + 2]! & GAP_MASK;
    const v3 = values[g + 3]! & GAP_MASK;
    const v4 = values[g + 4]! & GAP_MASK;
    const v5 = values[g + 5]! & GAP_MASK;
    const v6 = values[g + 6]! & GAP_MASK;
    const v7 = values[g + 7]! & GAP_MASK;
    out[o] = (v0 << 3) | (v1 >>> 2);
    out[o + 1] = ((v1 & 3) << 6) | (v2 << 1) | (v3 >>> 4);
    out[o + 2] = ((v3 & 15) << 4) | (v4 >>> 1);
    out[o + 3] = ((v4 & 1) << 7) | (v5 << 2) | (v6 >>> 3);
    out[o + 4] = ((v6 & 7) << 5) | v7;
  }
  return out;
}

/**
 * Gap of window `t` as the reference kernel reads it: two bytes from `floor(5t/8)`. The byte one past
 * the end (read for the very last window) is taken as 0, so this never reads out of bounds.
 */
export function gapAt(gaps: Uint8Array, t: number): number {
  const bit = GAP_BITS * t;
  const j = bit >>> 3;
  const v = ((gaps[j] ?? 0) << 8) | (gaps[j + 1] ?? 0);
  return (v >>> (11 - (bit & 7))) & GAP_MASK;
}

/** Unpacks all `gaps.length * 8 / 5` entries. */
export function unpackGaps(gaps: Uint8Array): Uint8Array {
  const count = Math.floor((gaps.length * 8) / GAP_BITS);
  const out = new Uint8Array(count);
  for (let t = 0; t < count; t++) out[t] = gapAt(gaps, t);
  return out;
}

/** Bytes of `gaps` for K chunks. */
export function gapsBytesForChunks(chunks: number): number {
  return GAP_BYTES_PER_CHUNK * chunks;
}

/** Entries of `gaps` for K chunks. */
export function gapsEntriesForChunks(chunks: number): number {
  return WINDOWS_PER_CHUNK * chunks;
}
