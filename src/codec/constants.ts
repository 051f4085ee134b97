/** Geometry of the DF11 bitstream index, fixed by the published format (df11-format.md §1). */
export const WINDOW_BITS = 64;
export const WINDOW_BYTES = 8;
export const WINDOWS_PER_CHUNK = 512;
export const CHUNK_BYTES = 4096;
export const CHUNK_BITS = 32768;
/** Each `gaps` entry is a 5-bit offset; a chunk's 512 entries pack into 320 bytes. */
export const GAP_BITS = 5;
export const GAP_BYTES_PER_CHUNK = 320;
export const MAX_CODE_BITS = 32;
/** LUT values >= this are pointers to sub-tables (row 256 - v); smaller values are exponents. */
export const FIRST_POINTER = 240;
/** Decode rows (R) plus the length row: at most 16 sub-tables + root + length row. */
export const MAX_LUT_ROWS = 18;
export const LUT_ROW_BYTES = 256;
