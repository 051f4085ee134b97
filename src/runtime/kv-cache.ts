/**
 * The KV cache of every layer (f32 keys and values, [capacity, kv_heads * head_dim] per layer) plus
 * the buffers whose size follows the capacity: the RoPE cos/sin table and the attention score
 * scratch ([max chunk tokens * heads, capacity]). Resizing keeps the first `keep` positions.
 */
import { BUFFER_USAGE, type GpuMemory } from './gpu-memory.js';
import type { ModelConfig } from './model-config.js';
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
    /** Most tokens one forward pass processes (rows of the score scratch). */
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

  get scoreScratch(): GPUBuffer {
    if (this.scores === undefined) throw new RangeError('KV cache not allocated');
    return this.scores;
  }

  /** GPU bytes for `capacity` positions (caches, RoPE table, score scratch). */
  static bytesFor(c: ModelConfig, capacity: number, maxChunk: number): number {
    const kvDim = c.kvHeads * c.headDim;
    return c.layers * 2 * capacity * kvDim * F32_BYTES + capacity * c.headDim * F32_BYTES + maxChunk * c.heads * capacity * F32_BYTES;
  }

  /**
   * Most positions the device can bind: each layer's K or V buffer and the score scratch are bound
   * whole, so each must stay within maxStorageBufferBindingSize.
   */
  static maxCapacity(limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }, c: ModelConfig, maxChunk: number): number {
    const bound = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    const perRow = Math.max(c.kvHeads * c.headDim, maxChunk * c.heads, c.headDim) * F32_BYTES;
    return Math.floor(bound / perRow);
  }

  /** Bytes one more position costs. */
  static bytesPerPosition(c: ModelConfig, maxChunk: number): number {
    return KvCache.bytesFor(c, 1, maxChunk);
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
      const scores = this.memory.create('attention.scores', this.maxChunk * c.heads * capacity * F32_BYTES, BUFFER_USAGE.STORAGE);
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
