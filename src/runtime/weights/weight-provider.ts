/**
 * How the forward pass obtains the BF16 weight matrices: a WeightProvider hands out, group by group
 * (embedding, each decoder layer, output head), where each matrix lies in GPU memory right now. What
 * stands behind it is the mode:
 * - bf16: every matrix resident in its own buffer;
 * - df11: units resident compressed, decoded into a reused scratch buffer just before use;
 * - offload: matrices kept in host memory, written into a scratch buffer before use (and any mix
 *   with resident matrices under a memory limit).
 * The refs a provider returns for a group stay valid until the next call on the same provider; the
 * forward pass uses each group before asking for the next one.
 */
import type { LayerMatrix } from '../weight-names.js';

export type EngineMode = 'bf16' | 'df11' | 'offload';

/**
 * A BF16 matrix [rows, cols] (row-major) at `byteOffset` of `buffer`; or, when `signMantissa` is
 * present, the same matrix as two byte planes: its exponents at `byteOffset` of `buffer` (one byte
 * per element, a DF11 unit decoded to its exponent plane) and its sign_mantissa bytes at
 * `signMantissa.byteOffset` of `signMantissa.buffer` (the unit's own tensor).
 */
export interface WeightRef {
  buffer: GPUBuffer;
  byteOffset: number;
  rows: number;
  cols: number;
  /** The tensor name, for messages. */
  name: string;
  signMantissa?: { buffer: GPUBuffer; byteOffset: number } | undefined;
}

/** Bytes per element at `byteOffset` of a ref's `buffer`: 2 (BF16) or 1 (exponent plane). */
export function elementBytes(w: WeightRef): number {
  return w.signMantissa === undefined ? 2 : 1;
}

export type LayerMatrices = Readonly<Record<LayerMatrix, WeightRef>>;

/** Embedding rows to look up: `table` holds rows, `ids[t]` is the row of token t. */
export interface EmbeddingLookup {
  table: WeightRef;
  ids: Uint32Array;
}

/** The command stream a forward pass is recorded into. */
export interface CommandRecorder {
  readonly device: GPUDevice;
  /** The open compute pass (begun on first use after a flush). */
  pass(): GPUComputePassEncoder;
  /** The command encoder with no pass open, for copies between the passes. */
  copies(): GPUCommandEncoder;
  /**
   * Ends the pass and submits everything recorded so far. Queue writes made after flush() are
   * ordered after that work (WebGPU queue order), which is how host-resident weights reuse a buffer.
   */
  flush(): void;
}

export interface WeightProvider {
  readonly mode: EngineMode;
  /** GPU bytes the provider holds (resident weights, compressed units, scratch). */
  readonly gpuBytes: number;
  /**
   * True when embedding() needs the token ids on the host (an offloaded embedding uploads only the
   * rows of the tokens at hand); false when any id in the engine's ids buffer can be looked up on
   * the GPU, so that greedy decoding can feed the argmax back without reading it.
   */
  readonly hostEmbedding: boolean;
  /**
   * Rows of the embedding for `tokens` (ids already checked < vocab). `ids` is the engine's GPU
   * buffer that holds the ids looked up when the recorded work runs (for a token fed back on the
   * GPU, `tokens` holds a placeholder and only `ids` has the real id).
   */
  embedding(tokens: Uint32Array, rec: CommandRecorder, ids: GPUBuffer): EmbeddingLookup;
  /** The seven matrices of decoder layer `layer`. */
  layer(layer: number, rec: CommandRecorder): LayerMatrices;
  /** The output head [vocab, hidden] (the embedding for tied weights). */
  lmHead(rec: CommandRecorder): WeightRef;
  /** Called once the recorded forward pass has been submitted (e.g. to check decode errors). */
  afterForward(): Promise<void>;
  /** Forgets what scratch buffers hold (after a failed forward pass). */
  reset(): void;
  /** One line on where the weights live. */
  describe(): string;
  destroy(): void;
}
