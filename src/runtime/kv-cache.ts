/**
 * The KV cache of every layer (f32 keys and values, [capacity, kv_heads * head_dim] per layer) plus
 * the buffers whose size follows the capacity: the RoPE cos/sin table and the attention scratch (per
 * token of a chunk and head, one (max, sum, head_dim outputs) record per segment of
 * ATTENTION_SEGMENT positions). Resizing keeps the first `keep` positions.
 */
import { BUFFER_USAGE, type GpuMemory } from './gpu-memory.js';
import type { ModelConfig } from './model-config.js';
import { ATTENTION_SEGMENT } from './ops/kernel-set.js';
import { ropeTable } from './rope.js';

const F32_BYTES = 4;

export interface LayerKv {
  k: GPUBuffer;
  v: GPUBuffer;
}

export class KvCache {
  private layerBuffers: LayerKv[] = [];
  private table: GPUBuffer | undefined;
  private scores: GPUBuffer | undefined;
  private tokens = 0;

  constructor(
    private readonly memory: GpuMemory,
    private readonly config: ModelConfig,
    private readonly invFreq: Float32Array,
    /** Most tokens one forward pass processes (tokens of the attention scratch). */
    readonly maxChunk: number,
  ) {}

  /** Positions the cache holds. */
  get capacity(): number {
    return this.tokens;
  }

  layer(l: number): LayerKv {
    const kv = this.layerBuffers[l];
    if (kv === undefined) throw new RangeError(`KV cache has no layer ${l} (capacity ${this.tokens})`);
    return kv;
  }

  get ropeTable(): GPUBuffer {
    if (this.table === undefined) throw new RangeError('KV cache not allocated');
    return this.table;
  }

  /** The attention scratch (rt-attention's `part`). */
  get attentionScratch(): GPUBuffer {
    if (this.scores === undefined) throw new RangeError('KV cache not allocated');
    return this.scores;
  }

  /** Segments of the attention scratch for `capacity` positions. */
  static segments(capacity: number): number {
    return Math.ceil(capacity / ATTENTION_SEGMENT);
  }

  /** Bytes of one segment of the attention scratch. */
  private static segmentBytes(c: ModelConfig, maxChunk: number): number {
    return maxChunk * c.heads * (c.headDim + 2) * F32_BYTES;
  }

  /** GPU bytes for `capacity` positions (caches, RoPE table, attention scratch). */
  static bytesFor(c: ModelConfig, capacity: number, maxChunk: number): number {
    const kvDim = c.kvHeads * c.headDim;
    return c.layers * 2 * capacity * kvDim * F32_BYTES + capacity * c.headDim * F32_BYTES + KvCache.segments(capacity) * KvCache.segmentBytes(c, maxChunk);
  }

  /** The most positions whose bytesFor fits `bytes` (0 when not even one does). */
  static capacityFor(c: ModelConfig, bytes: number, maxChunk: number): number {
    if (KvCache.bytesFor(c, 1, maxChunk) > bytes) return 0;
    // bytesFor grows with the capacity: the largest fitting one lies below bytes / (bytes of one
    // position without the scratch)
    let lo = 1;
    let hi = Math.max(1, Math.floor(bytes / ((c.layers * 2 * c.kvHeads + 1) * c.headDim * F32_BYTES)));
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (KvCache.bytesFor(c, mid, maxChunk) <= bytes) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Most positions the device can bind: each layer's K or V buffer and the attention scratch are
   * bound whole, so each must stay within maxStorageBufferBindingSize.
   */
  static maxCapacity(limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }, c: ModelConfig, maxChunk: number): number {
    const bound = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    const byRows = Math.floor(bound / (Math.max(c.kvHeads * c.headDim, c.headDim) * F32_BYTES));
    const bySegments = Math.floor(bound / KvCache.segmentBytes(c, maxChunk)) * ATTENTION_SEGMENT;
    return Math.min(byRows, bySegments);
  }

  /**
   * Reallocates for `capacity` positions, copying positions [0, keep) of the old cache. Old and new
   * buffers coexist during the copy.
   * @throws Df11Error 'gpu-memory' when the new buffers do not fit.
   */
  resize(capacity: number, keep: number): void {
    if (capacity === this.tokens) return;
    if (keep > Math.min(capacity, this.tokens)) throw new RangeError(`cannot keep ${keep} positions when resizing ${this.tokens} -> ${capacity}`);
    const c = this.config;
    const kvDim = c.kvHeads * c.headDim;
    const device = this.memory.device;
    const fresh: LayerKv[] = [];
    const made: GPUBuffer[] = [];
    try {
      for (let l = 0; l < c.layers; l++) {
        const k = this.memory.create(`kv.k[${l}]`, capacity * kvDim * F32_BYTES, BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_DST | BUFFER_USAGE.COPY_SRC);
        made.push(k);
        const v = this.memory.create(`kv.v[${l}]`, capacity * kvDim * F32_BYTES, BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_DST | BUFFER_USAGE.COPY_SRC);
        made.push(v);
        fresh.push({ k, v });
      }
      const table = this.memory.createWith('rope.table', ropeTable(this.invFreq, capacity), BUFFER_USAGE.STORAGE);
      made.push(table);
      const scores = this.memory.create('attention.scratch', KvCache.segments(capacity) * KvCache.segmentBytes(c, this.maxChunk), BUFFER_USAGE.STORAGE);
      made.push(scores);
      if (keep > 0) {
        const encoder = device.createCommandEncoder({ label: 'kv-cache resize' });
        const bytes = keep * kvDim * F32_BYTES;
        this.layerBuffers.forEach((old, l) => {
          encoder.copyBufferToBuffer(old.k, 0, fresh[l]!.k, 0, bytes);
          encoder.copyBufferToBuffer(old.v, 0, fresh[l]!.v, 0, bytes);
        });
        device.queue.submit([encoder.finish()]);
      }
      this.release();
      this.layerBuffers = fresh;
      this.table = table;
      this.scores = scores;
      this.tokens = capacity;
    } catch (e) {
      for (const b of made) this.memory.destroy(b);
      throw e;
    }
  }

  /** Frees every buffer (capacity 0). */
  release(): void {
    for (const kv of this.layerBuffers) {
      this.memory.destroy(kv.k);
      this.memory.destroy(kv.v);
    }
    if (this.table) this.memory.destroy(this.table);
    if (this.scores) this.memory.destroy(this.scores);
    this.layerBuffers = [];
    this.table = undefined;
    this.scores = undefined;
    this.tokens = 0;
  }
}
