/**
 * InferenceEngine: a Llama-family model on one WebGPU device. Owns the weights (through a
 * WeightProvider chosen by the mode), the KV cache, the activations and the compiled kernels, and
 * runs forward passes: a prompt in chunks (prefill), then one token at a time (decode). Results repeat
 * bit for bit on a given device: every kernel reduces in a fixed order and no atomics are used, and
 * the modes differ only in where weights come from, so bf16, df11 and offload give identical logits.
 */
import { Df11Error } from '../errors.js';
import type { GpuDecoderOptions } from '../gpu/decoder.js';
import type { GpuAdapterSummary, GpuContext } from '../gpu/device.js';
import { ARGMAX_RESULT_BYTES, FEEDBACK, ForwardPass } from './forward.js';
import { BUFFER_USAGE, GpuMemory } from './gpu-memory.js';
import { KvCache } from './kv-cache.js';
import { parseModelConfig, type ModelConfig } from './model-config.js';
import type { ModelFiles } from './model-files.js';
import { compileKernels, ROW_WORKGROUP } from './ops/kernel-set.js';
import { ProfilingRecorder, type DispatchTiming } from './profile.js';
import { Recorder } from './recorder.js';
import { ropeInverseFrequencies } from './rope.js';
import { Bf16WeightProvider } from './weights/bf16-provider.js';
import { Df11WeightProvider } from './weights/df11-provider.js';
import { uploadModelVectors } from './weights/layer-vectors.js';
import type { CommandRecorder, EngineMode, WeightProvider } from './weights/weight-provider.js';

/** Positions reserved in the KV cache when the caller does not say (capped by the model's context). */
export const DEFAULT_CONTEXT_TOKENS = 2048;
/** Most prompt tokens per forward pass (sets activation and score scratch sizes). */
export const DEFAULT_MAX_CHUNK_TOKENS = 64;
/**
 * Row workgroup size on SwiftShader: its CPU emulation of workgroup barriers costs about as much as
 * the arithmetic of a whole workgroup, so small workgroups run the tiny demo model ~20x faster.
 */
export const SWIFTSHADER_ROW_WORKGROUP = 4;
/**
 * Workgroup memory of the DF11 decode kernel on SwiftShader: its compile time grows with the
 * kernel's workgroup array (about 10 s at 32 KiB, 2.5 s at 8 KiB); decoded bytes are the same for
 * any size. The subgroup kernel keeps ~10 KB of tables besides its stage, so 8 KiB no longer fits it.
 */
export const SWIFTSHADER_DECODE_WORKGROUP_BYTES = 12288;
/** Most tokens one forwardGreedy() call decodes (ids read back together). */
export const GREEDY_WINDOW_TOKENS = 32;
const MAP_MODE_READ = 0x1;
const F32_BYTES = 4;
const U32_BYTES = 4;
/** result[0] of rt-argmax when no logit beat -infinity. */
const NO_INDEX = 0xffffffff;

export interface EngineOptions {
  /**
   * Where weights live (default: df11 for a DF11 model, else bf16). bf16: resident, with layers
   * offloaded to host memory when gpuMemoryBytes is too small; offload: all in host memory, or as
   * many resident as gpuMemoryBytes allows when given; df11: compressed units resident.
   */
  mode?: EngineMode;
  /** Cap on the GPU bytes the engine allocates (weights, scratch, KV cache, activations). */
  gpuMemoryBytes?: number;
  /** Positions to reserve in the KV cache at creation (default min(context, DEFAULT_CONTEXT_TOKENS)). */
  contextTokens?: number;
  /** Most tokens per forward pass (default DEFAULT_MAX_CHUNK_TOKENS). */
  maxChunkTokens?: number;
  /**
   * Invocations per workgroup of the reducing kernels (power of two; default ROW_WORKGROUP, or
   * SWIFTSHADER_ROW_WORKGROUP on SwiftShader, whose workgroup barriers are slow). Results repeat
   * bit for bit between engines with the same value on the same device.
   */
  rowWorkgroup?: number;
  /** Rows per matrix-vector workgroup (1-4; default MATVEC_ROWS). Results do not depend on it. */
  matvecRows?: number;
  /**
   * Options of the DF11 decoder (default: the decoder's, except workgroup memory of
   * SWIFTSHADER_DECODE_WORKGROUP_BYTES on SwiftShader).
   */
  decoder?: GpuDecoderOptions;
  /**
   * df11: the products read layers and head as exponent planes beside sign_mantissa where the
   * decoder can write them (default true); false decodes them to BF16. Same bits either way.
   */
  exponentPlanes?: boolean;
}

export interface ForwardOptions {
  /** Also read back the logits of the last token. */
  logits?: boolean;
}

export interface ForwardResult {
  /** Argmax of the last token's logits, computed on the GPU (lowest index on ties). */
  argmax: number;
  /** The last token's logits, when asked for. */
  logits?: Float32Array;
}

export class InferenceEngine {
  private pos = 0;
  private destroyed = false;
  private readonly argmaxRead: GPUBuffer;
  private readonly logitsRead: GPUBuffer;
  private readonly greedyRead: GPUBuffer;

  private constructor(
    readonly gpu: GpuContext,
    readonly config: ModelConfig,
    readonly mode: EngineMode,
    readonly memory: GpuMemory,
    private readonly forwardPass: ForwardPass,
    private readonly weights: WeightProvider,
    private readonly kv: KvCache,
  ) {
    this.argmaxRead = memory.create('readback.argmax', ARGMAX_RESULT_BYTES, BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST);
    this.logitsRead = memory.create('readback.logits', config.vocabSize * F32_BYTES, BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST);
    this.greedyRead = memory.create('readback.greedy', GREEDY_WINDOW_TOKENS * U32_BYTES, BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST);
  }

  /**
   * Loads a model onto `gpu.device`.
   * @throws Df11Error 'config-invalid' (config.json), weight errors (tensor-not-found, not-bf16,
   *   unit-invalid), 'gpu-memory' when the weights cannot fit the cap, 'usage' for a mode the model
   *   files cannot serve (df11 needs a DF11 model; offload needs BF16 weights).
   */
  static async create(gpu: GpuContext, files: ModelFiles, options: EngineOptions = {}): Promise<InferenceEngine> {
    const config = parseModelConfig(files.config, files.name);
    const mode = options.mode ?? (files.kind === 'df11' ? 'df11' : 'bf16');
    if (mode === 'df11' && files.kind !== 'df11') throw new Df11Error('usage', 'mode df11 needs a DF11 model (compress it with df11 compress)', { file: files.name });
    if (mode !== 'df11' && files.kind === 'df11') throw new Df11Error('usage', `mode ${mode} needs a BF16 model; this is a DF11 model (use mode df11)`, { file: files.name });
    const cap = options.gpuMemoryBytes;
    if (cap !== undefined && (!Number.isSafeInteger(cap) || cap <= 0)) throw new RangeError(`gpuMemoryBytes must be a positive integer, got ${cap}`);
    const maxChunk = options.maxChunkTokens ?? DEFAULT_MAX_CHUNK_TOKENS;
    if (!Number.isSafeInteger(maxChunk) || maxChunk < 1) throw new RangeError(`maxChunkTokens must be a positive integer, got ${maxChunk}`);
    const wanted = Math.min(options.contextTokens ?? DEFAULT_CONTEXT_TOKENS, config.maxPositions);
    if (!Number.isSafeInteger(wanted) || wanted < 1) throw new RangeError(`contextTokens must be a positive integer, got ${options.contextTokens}`);

    const device = gpu.device;
    const memory = new GpuMemory(device, cap);
    let weights: WeightProvider | undefined;
    let kv: KvCache | undefined;
    device.pushErrorScope('out-of-memory');
    let outOfMemory: GPUError | null = null;
    try {
      const rowWorkgroup = options.rowWorkgroup ?? (gpu.adapter.isSwiftShader ? SWIFTSHADER_ROW_WORKGROUP : ROW_WORKGROUP);
      const kernels = await compileKernels(device, { rowWorkgroup, ...(options.matvecRows !== undefined ? { matvecRows: options.matvecRows } : {}) });
      const vectors = await uploadModelVectors(memory, files.tensors, config, files.name);
      const forwardPass = ForwardPass.create(memory, kernels, config, vectors, maxChunk);
      // readback buffers (made by the constructor) and a minimal KV cache must fit beside the weights
      const reserved = ARGMAX_RESULT_BYTES + config.vocabSize * F32_BYTES + GREEDY_WINDOW_TOKENS * U32_BYTES;
      if (files.kind === 'df11') {
        const decoder = options.decoder ?? (gpu.adapter.isSwiftShader ? { workgroupStorageBytes: SWIFTSHADER_DECODE_WORKGROUP_BYTES } : {});
        weights = await Df11WeightProvider.create(memory, files, config, decoder, options.exponentPlanes === undefined ? {} : { exponentPlanes: options.exponentPlanes });
      } else {
        const weightMode = mode === 'offload' ? 'offload' : 'bf16';
        const left = (positions: number) => memory.availableBytes - reserved - KvCache.bytesFor(config, positions, maxChunk);
        if (mode === 'offload' && cap === undefined) {
          weights = await Bf16WeightProvider.create(memory, files, config, { mode: weightMode, budgetBytes: Infinity, offloadAll: true, maxChunk });
        } else {
          try {
            // as many weights resident as fit beside a KV cache of the wanted size
            weights = await Bf16WeightProvider.create(memory, files, config, { mode: weightMode, budgetBytes: left(wanted), maxChunk });
          } catch (e) {
            // even full offload leaves no room for that cache: offload everything, the cache gets the rest
            if (!(e instanceof Df11Error && e.code === 'gpu-memory') || cap === undefined) throw e;
            weights = await Bf16WeightProvider.create(memory, files, config, { mode: weightMode, budgetBytes: left(1), offloadAll: true, maxChunk });
          }
        }
      }
      kv = new KvCache(memory, config, ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling), maxChunk);
      const fit = Math.min(KvCache.capacityFor(config, memory.availableBytes - reserved, maxChunk), KvCache.maxCapacity(device.limits, config, maxChunk));
      if (fit < 1) {
        throw new Df11Error('gpu-memory', `no room for the KV cache: the weights and activations leave ${memory.availableBytes} bytes of the ${cap} allowed; one position needs ${KvCache.bytesFor(config, 1, maxChunk) + reserved}`);
      }
      kv.resize(Math.min(wanted, fit), 0);
      const engine = new InferenceEngine(gpu, config, mode, memory, forwardPass, weights, kv);
      outOfMemory = await device.popErrorScope();
      if (outOfMemory) {
        engine.destroy();
        throw new Df11Error('gpu-memory', `the device ran out of memory loading the model (${memory.peakBytes} bytes allocated): ${outOfMemory.message}`, { file: files.name });
      }
      return engine;
    } catch (e) {
      if (outOfMemory === null) await device.popErrorScope().catch(() => null);
      kv?.release();
      weights?.destroy();
      memory.destroyAll();
      throw e;
    }
  }

  get adapter(): GpuAdapterSummary {
    return this.gpu.adapter;
  }

  /** Positions processed since the last reset (the next token's position). */
  get position(): number {
    return this.pos;
  }

  /** Positions the KV cache holds now. */
  get capacity(): number {
    return this.kv.capacity;
  }

  /** Where the weights live, in one line. */
  describeWeights(): string {
    return this.weights.describe();
  }

  /** Starts a new sequence (the KV cache is reused). */
  reset(): void {
    this.pos = 0;
  }

  /**
   * Grows the KV cache towards `positions` (capped by the model's context and the memory cap),
   * keeping the positions already processed. Returns the capacity reached, which may be less.
   */
  reserve(positions: number): number {
    this.assertLive();
    const target = Math.min(positions, this.config.maxPositions);
    if (target <= this.kv.capacity) return this.kv.capacity;
    // with nothing to keep, the old cache is freed before the new one is made
    const room = this.memory.availableBytes + (this.pos === 0 ? KvCache.bytesFor(this.config, this.kv.capacity, this.forwardPass.maxChunk) : 0);
    const capacity = Math.min(target, KvCache.capacityFor(this.config, room, this.forwardPass.maxChunk), KvCache.maxCapacity(this.gpu.device.limits, this.config, this.forwardPass.maxChunk));
    if (capacity <= this.kv.capacity) return this.kv.capacity;
    if (this.pos === 0) this.kv.release();
    this.kv.resize(capacity, this.pos);
    this.forwardPass.binder.clearBindGroups();
    this.forwardPass.clearTape();
    return this.kv.capacity;
  }

  /**
   * Records forward passes with `record` and submits them, catching WebGPU validation errors for the
   * whole recording (they would leave results silently wrong); on any failure the weight provider is
   * reset.
   */
  private async recordChecked(label: string, record: (rec: CommandRecorder) => void, rec: CommandRecorder = new Recorder(this.gpu.device, label)): Promise<void> {
    const device = this.gpu.device;
    device.pushErrorScope('validation');
    let failed = false;
    try {
      record(rec);
      rec.flush();
    } catch (e) {
      failed = true;
      this.weights.reset();
      throw e;
    } finally {
      const error = await device.popErrorScope();
      if (error && !failed) {
        this.weights.reset();
        throw new Error(`WebGPU validation error in a forward pass: ${error.message}`);
      }
    }
  }

  /**
   * Runs `tokens` at the current position (in chunks of at most maxChunkTokens) and advances it.
   * @throws Df11Error 'generation' for an empty list, a token id outside the vocabulary, or positions
   *   beyond the KV cache (nothing is run then); 'gpu-decode-error' for corrupt DF11 data.
   */
  async forward(tokens: ArrayLike<number>, options: ForwardOptions = {}): Promise<ForwardResult> {
    this.assertLive();
    const ids = Uint32Array.from(tokens as ArrayLike<number>);
    if (ids.length === 0) throw new Df11Error('generation', 'forward() needs at least one token');
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (!Number.isInteger(t) || t < 0 || t >= this.config.vocabSize) throw new Df11Error('generation', `token id ${t} is outside the vocabulary of ${this.config.vocabSize}`);
    }
    if (this.pos + ids.length > this.kv.capacity) {
      throw new Df11Error('generation', `the KV cache holds ${this.kv.capacity} positions; ${this.pos} are used and ${ids.length} more were asked for`);
    }
    const chunk = this.forwardPass.maxChunk;
    await this.recordChecked('forward', (rec) => {
      for (let at = 0; at < ids.length; at += chunk) {
        const part = ids.subarray(at, Math.min(at + chunk, ids.length));
        const last = at + chunk >= ids.length;
        this.forwardPass.record(rec, this.weights, this.kv, part, this.pos + at, last);
      }
      const act = this.forwardPass.act;
      const enc = rec.copies();
      enc.copyBufferToBuffer(act.argmax, 0, this.argmaxRead, 0, ARGMAX_RESULT_BYTES);
      if (options.logits) enc.copyBufferToBuffer(act.logits, 0, this.logitsRead, 0, this.config.vocabSize * F32_BYTES);
    });
    this.pos += ids.length;
    await this.weights.afterForward();
    await this.argmaxRead.mapAsync(MAP_MODE_READ);
    const index = new Uint32Array(this.argmaxRead.getMappedRange(), 0, 1)[0]!;
    this.argmaxRead.unmap();
    if (index === NO_INDEX) throw new Df11Error('generation', 'every logit is NaN or -infinity');
    const result: ForwardResult = { argmax: index };
    if (options.logits) {
      await this.logitsRead.mapAsync(MAP_MODE_READ);
      result.logits = new Float32Array(this.logitsRead.getMappedRange().slice(0));
      this.logitsRead.unmap();
    }
    return result;
  }

  /**
   * Greedy decoding of `count` tokens (1 .. GREEDY_WINDOW_TOKENS) without a host round trip per
   * token: `first` is run at the current position, then each pass's argmax is copied into the next
   * pass's input on the GPU, and the `count` argmax ids are read back together at the end (the host
   * records pass i + 1 while the GPU runs pass i). Returns the ids and advances the position by
   * `count`: the same ids, logits and KV cache as `count` calls of forward([previous id]). Weights
   * that need host token ids (an offloaded embedding) take that slower path instead.
   * @throws Df11Error 'generation' for a token id outside the vocabulary, positions beyond the KV
   *   cache (nothing is run then), or NaN logits; 'gpu-decode-error' for corrupt DF11 data.
   */
  async forwardGreedy(first: number, count: number): Promise<number[]> {
    this.assertLive();
    if (!Number.isSafeInteger(count) || count < 1 || count > GREEDY_WINDOW_TOKENS) throw new RangeError(`forwardGreedy decodes 1 to ${GREEDY_WINDOW_TOKENS} tokens, got ${count}`);
    if (!Number.isInteger(first) || first < 0 || first >= this.config.vocabSize) throw new Df11Error('generation', `token id ${first} is outside the vocabulary of ${this.config.vocabSize}`);
    if (this.pos + count > this.kv.capacity) {
      throw new Df11Error('generation', `the KV cache holds ${this.kv.capacity} positions; ${this.pos} are used and ${count} more were asked for`);
    }
    if (this.weights.hostEmbedding) {
      const ids: number[] = [];
      let next = first;
      for (let i = 0; i < count; i++) {
        next = (await this.forward([next])).argmax;
        ids.push(next);
      }
      return ids;
    }
    await this.recordChecked('greedy', (rec) => {
      for (let i = 0; i < count; i++) {
        this.forwardPass.record(rec, this.weights, this.kv, i === 0 ? Uint32Array.of(first) : FEEDBACK, this.pos + i, true);
        rec.copies().copyBufferToBuffer(this.forwardPass.act.argmax, 0, this.greedyRead, i * U32_BYTES, U32_BYTES);
      }
    });
    this.pos += count;
    await this.weights.afterForward();
    await this.greedyRead.mapAsync(MAP_MODE_READ, 0, count * U32_BYTES);
    const ids = Array.from(new Uint32Array(this.greedyRead.getMappedRange(0, count * U32_BYTES)));
    this.greedyRead.unmap();
    if (ids.includes(NO_INDEX)) throw new Df11Error('generation', 'every logit is NaN or -infinity');
    return ids;
  }

  /**
   * Runs `tokens` (at most maxChunkTokens, ids checked as in forward) at the current position like
   * forward(), with every dispatch in a compute pass of its own between two timestamps, and returns
   * the GPU time of each dispatch in recording order (see ProfilingRecorder).
   * @throws Error when the device has no 'timestamp-query' feature.
   */
  async profile(tokens: ArrayLike<number>): Promise<DispatchTiming[]> {
    this.assertLive();
    const ids = Uint32Array.from(tokens as ArrayLike<number>);
    if (ids.length === 0 || ids.length > this.forwardPass.maxChunk) throw new Df11Error('generation', `profile() takes 1 to ${this.forwardPass.maxChunk} tokens, got ${ids.length}`);
    for (const t of ids) if (t >= this.config.vocabSize) throw new Df11Error('generation', `token id ${t} is outside the vocabulary of ${this.config.vocabSize}`);
    if (this.pos + ids.length > this.kv.capacity) throw new Df11Error('generation', `the KV cache holds ${this.kv.capacity} positions; ${this.pos} are used and ${ids.length} more were asked for`);
    const rec = new ProfilingRecorder(this.gpu.device);
    await this.recordChecked('profile', (r) => this.forwardPass.record(r, this.weights, this.kv, ids, this.pos, true), rec);
    this.pos += ids.length;
    const timings = await rec.timings();
    await this.weights.afterForward();
    return timings;
  }

  /**
   * Moves the position back to `position` (<= the current one): later positions of the KV cache are
   * treated as empty and overwritten by the next forward pass (e.g. after greedy decoding ran past a
   * stop token).
   */
  rewind(position: number): void {
    if (!Number.isSafeInteger(position) || position < 0 || position > this.pos) throw new RangeError(`cannot rewind from position ${this.pos} to ${position}`);
    this.pos = position;
  }

  /** Frees every GPU buffer of the engine (the device stays). Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.kv.release();
    this.weights.destroy();
    this.memory.destroyAll();
  }

  private assertLive(): void {
    if (this.destroyed) throw new Error('InferenceEngine was destroyed');
  }
}
