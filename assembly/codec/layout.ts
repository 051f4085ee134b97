// Fixed memory layout of the codec module. Every region sits at a compile-time address, so the hot
// loops address them with instruction immediates instead of pointer registers (V8 has about 11
// allocatable registers on x64; the decoder's lockstep loop needs 9 for its own state). The host
// (src/codec/wasm/*.ts) reads these addresses from the exports and copies its data in and out.
// The first 64 KiB belong to the module's static data (the host checks heapBase() <= REGION_BASE).

/** First byte of the regions. */
export const REGION_BASE: usize = 65536;
/** Region alignment (a cache line). */
const ALIGN: usize = 64;

// ---- Decoder (assembly/codec/decode.ts). A tile is DECODE_TILE_CHUNKS chunks of 4096 stream bytes.
/** Chunks per tile: ~100 K elements, so a tile's buffers (~0.5 MiB in use) stay in the L2 cache. */
export const DECODE_TILE_CHUNKS: i32 = 8;
/** Elements of a chunk at most: one per stream bit. */
const MAX_CHUNK_ELEMENTS: usize = 32768;
/** The unit's `luts`: at most 18 rows of 256 bytes. */
export const DEC_LUTS: usize = REGION_BASE;
/** Look-ahead bits indexing the decode tables. */
export const DEC_TABLE_BITS: i32 = 12;
/**
 * Decode tables (2^DEC_TABLE_BITS entries each): multi-code exponents (u64), meta (u32, 64 more for
 * LUT-walk codes), advance (u8); single-code (u16); the builder's scratch (2^(bits+1) x u16).
 */
export const DEC_TABLES: usize = DEC_LUTS + 18 * 256;
export const DEC_TABLE_BYTES: usize = ((<usize>1 << DEC_TABLE_BITS) * (8 + 4 + 1 + 2) + 64 * 4 + 2 * (<usize>2 << DEC_TABLE_BITS) + 63) & ~63;
/** op[first .. first + tile + 1] as u32. */
export const DEC_OPS: usize = DEC_TABLES + DEC_TABLE_BYTES;
/** Packed gaps of the tile, from its first window, plus the next chunk's first window; zero-padded. */
export const DEC_GAPS: usize = DEC_OPS + ALIGN;
export const DEC_GAP_BYTES: usize = 320 * <usize>DECODE_TILE_CHUNKS + ALIGN;
/** The tile's stream bytes (plus 4 look-ahead bytes, zero past the stream), then byte-reversed. */
export const DEC_STREAM_BYTES: usize = 4096 * <usize>DECODE_TILE_CHUNKS + 16;
export const DEC_STREAM: usize = DEC_GAPS + DEC_GAP_BYTES;
export const DEC_REVERSED: usize = DEC_STREAM + DEC_STREAM_BYTES + 48;
/** Slots: 4 bytes per window of the tile (8 reserved). */
export const DEC_SLOTS: usize = DEC_REVERSED + DEC_STREAM_BYTES + 48;
/** Lookup logs of the 4 lockstep streams: one u16 table index per lookup of a round (<= 64). */
export const DEC_LOG: usize = DEC_SLOTS + 512 * 8 * <usize>DECODE_TILE_CHUNKS;
export const DEC_LOG_BYTES_PER_STREAM: usize = 256;
/** Per-stream state of a lockstep group (6 x 4 x i32). */
export const DEC_STATE: usize = DEC_LOG + 4 * DEC_LOG_BYTES_PER_STREAM;
/** Staged exponents: each chunk's elements, 8 slack bytes after each. */
export const DEC_STAGE: usize = DEC_STATE + 256;
/** Sign/mantissa bytes of the tile's elements, and their BF16 words. */
export const DEC_SM: usize = DEC_STAGE + (MAX_CHUNK_ELEMENTS + 8) * <usize>DECODE_TILE_CHUNKS + ALIGN;
export const DEC_OUT: usize = DEC_SM + MAX_CHUNK_ELEMENTS * <usize>DECODE_TILE_CHUNKS + ALIGN;
export const DEC_END: usize = DEC_OUT + 2 * MAX_CHUNK_ELEMENTS * <usize>DECODE_TILE_CHUNKS + ALIGN;
// (The stream, sign/mantissa and output regions each have >= 16 spare bytes for a start shift of 0..7.)

// ---- Encoder (assembly/codec/encode.ts). A tile is ENCODE_TILE_ELEMENTS BF16 words.
/** Elements per tile (32 KiB of BF16 input). */
export const ENCODE_TILE_ELEMENTS: i32 = 16384;
/** Window slots in the ring: more than a tile can span at 32 bits per element (8192 windows) + 2. */
export const ENC_RING_SLOTS: u32 = 16384;
/** Interleaved sub-histograms: 8 x 256 x u32. */
export const ENC_HIST: usize = DEC_END;
/** Code tables: single (256 x u64), then pairs (65536 x u64); code lengths (256 x u8) after them. */
export const ENC_CODES: usize = ENC_HIST + 8 * 256 * 4;
export const ENC_PAIRS: usize = ENC_CODES + 256 * 8;
export const ENC_LENGTHS: usize = ENC_PAIRS + 65536 * 8;
/** The tile's BF16 input, its stream words (32 bits per element at most, plus the pending word), its sign/mantissa bytes. */
export const ENC_SRC: usize = ENC_LENGTHS + 256;
export const ENC_WORDS: usize = ENC_SRC + 2 * <usize>ENCODE_TILE_ELEMENTS;
export const ENC_SM: usize = ENC_WORDS + 4 * <usize>ENCODE_TILE_ELEMENTS + ALIGN;
/** Window slots (16 bytes each). */
export const ENC_RING: usize = ENC_SM + <usize>ENCODE_TILE_ELEMENTS + ALIGN;
/** Resolved gaps (u8) and chunk positions (u32) of one resolveWindows call. */
export const ENC_GAPS_OUT: usize = ENC_RING + 16 * <usize>ENC_RING_SLOTS;
export const ENC_OPS_OUT: usize = ENC_GAPS_OUT + <usize>ENC_RING_SLOTS;
/** Exponent-pair counts of the large-input histogram (65536 x u32). */
export const ENC_PAIR_HIST: usize = ENC_OPS_OUT + 4 * 64;
export const ENC_END: usize = ENC_PAIR_HIST + 65536 * 4;

/** Bytes of memory the module needs. */
export const MEMORY_BYTES: usize = ENC_END;
