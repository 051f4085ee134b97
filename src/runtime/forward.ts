/**
 * One forward pass of a Llama-family decoder over n tokens at positions pos0 .. pos0 + n - 1,
 * recorded into a CommandRecorder: embedding, then per layer
 *   h = rmsnorm(x); q, k, v = Wq h, Wk h, Wv h (+ biases); [per-head q/k norm]; rope(q, k);
 *   cache[pos] = k, v; a = attention(q, cache); x += Wo a; h = rmsnorm(x);
 *   g = silu(Wgate h) * (Wup h) (the activation in the up product's dispatch); x += Wdown g
 * then the final norm of the last token, the logits and their argmax. Activations are f32; every
 * matrix product reads BF16 weights and accumulates in f32.
 */
import { BUFFER_USAGE, type GpuMemory } from './gpu-memory.js';
import { KvCache } from './kv-cache.js';
import type { ModelConfig } from './model-config.js';
import { Binder } from './ops/binder.js';
import type { KernelSet } from './ops/kernel-set.js';
import { Ops } from './ops/ops.js';
import { Tape } from './ops/tape.js';
import { LAYER_MATRICES } from './weight-names.js';
import type { ModelVectors } from './weights/layer-vectors.js';
import type { CommandRecorder, WeightProvider } from './weights/weight-provider.js';

const F32_BYTES = 4;
const U32_BYTES = 4;
const STEP_BYTES = 16;
/** Bytes of the argmax result: index and value bits. */
export const ARGMAX_RESULT_BYTES = 8;
/** ForwardPass.record's token list meaning "the argmax of the previous pass, on the GPU". */
export const FEEDBACK = Symbol('feedback');
/** Stands for the fed-back token where the weights ask for ids (they are not read). */
const FEEDBACK_PLACEHOLDER = new Uint32Array(1);

/** The engine's activation buffers for chunks of up to maxChunk tokens. */
export interface Activations {
  x: GPUBuffer;
  h: GPUBuffer;
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  attn: GPUBuffer;
  /** The gate product, then the MLP activation silu(gate) * up. */
  gate: GPUBuffer;
  /** Final-normed hidden state of the last token. */
  last: GPUBuffer;
  logits: GPUBuffer;
  argmax: GPUBuffer;
  /** Row ids for the embedding lookup. */
  ids: GPUBuffer;
  step: GPUBuffer;
  /** Bound in place of absent optional buffers. */
  dummy: GPUBuffer;
}

function activationSizes(c: ModelConfig, maxChunk: number): Record<keyof Activations, number> {
  const qDim = c.heads * c.headDim;
  const kvDim = c.kvHeads * c.headDim;
  return {
    x: maxChunk * c.hiddenSize * F32_BYTES,
    h: maxChunk * c.hiddenSize * F32_BYTES,
    q: maxChunk * qDim * F32_BYTES,
    k: maxChunk * kvDim * F32_BYTES,
    v: maxChunk * kvDim * F32_BYTES,
    attn: maxChunk * qDim * F32_BYTES,
    gate: maxChunk * c.intermediateSize * F32_BYTES,
    last: c.hiddenSize * F32_BYTES,
    logits: c.vocabSize * F32_BYTES,
    argmax: ARGMAX_RESULT_BYTES,
    ids: maxChunk * U32_BYTES,
    step: STEP_BYTES,
    dummy: STEP_BYTES,
  };
}

/** GPU bytes of the activations for chunks of `maxChunk` tokens. */
export function activationBytes(c: ModelConfig, maxChunk: number): number {
  return Object.values(activationSizes(c, maxChunk)).reduce((s, b) => s + b, 0);
}

/** Tape segments besides the layers (keyed by layer index). */
const SEGMENT_EMBED = -1;
const SEGMENT_FINAL_NORM = -2;
const SEGMENT_HEAD = -3;

export class ForwardPass {
  readonly ops: Ops;
  private readonly tape = new Tape();

  private constructor(
    readonly config: ModelConfig,
    readonly act: Activations,
    readonly vectors: ModelVectors,
    readonly maxChunk: number,
    kernels: KernelSet,
    readonly binder: Binder,
  ) {
    this.ops = new Ops(binder.device, kernels, binder, act.step, act.dummy);
  }

  static create(memory: GpuMemory, kernels: KernelSet, config: ModelConfig, vectors: ModelVectors, maxChunk: number): ForwardPass {
    const sizes = activationSizes(config, maxChunk);
    const act = {} as Record<keyof Activations, GPUBuffer>;
    for (const [name, bytes] of Object.entries(sizes) as [keyof Activations, number][]) {
      const usage = name === 'step' ? BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST : BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;
      act[name] = memory.create(`act.${name}`, bytes, usage);
    }
    return new ForwardPass(config, act, vectors, maxChunk, kernels, new Binder(memory.device, memory));
  }

  /**
   * Records the forward pass of `tokens` (1 .. maxChunk ids, each < vocab) at positions pos0.. into
   * `rec`, ending with the logits of the last token in act.logits and their argmax in act.argmax.
   * With `withHead` false (a prompt chunk that is not the last) the pass stops after the last layer.
   * With `tokens` = FEEDBACK, the one token is the argmax of the previous pass, copied on the GPU from
   * act.argmax (the weights must not need host ids: !weights.hostEmbedding; an argmax of
   * 0xffffffff, every logit NaN, is clamped to the last row by rt-embed and reported by the caller).
   * The caller checks pos0 + tokens.length <= kv.capacity.
   */
  record(rec: CommandRecorder, weights: WeightProvider, kv: KvCache, tokens: Uint32Array | typeof FEEDBACK, pos0: number, withHead = true): void {
    const c = this.config;
    const a = this.act;
    const feedback = tokens === FEEDBACK;
    if (feedback && weights.hostEmbedding) throw new RangeError('the embedding needs host token ids; feedback is not possible');
    const ids = feedback ? FEEDBACK_PLACEHOLDER : tokens;
    const n = ids.length;
    if (n < 1 || n > this.maxChunk) throw new RangeError(`a forward pass takes 1 to ${this.maxChunk} tokens, got ${n}`);
    if (pos0 + n > kv.capacity) throw new RangeError(`positions up to ${pos0 + n} exceed the KV cache of ${kv.capacity}`);
    const queue = rec.device.queue;
    // Queue writes happen at submit order: submit the previous chunk before overwriting its inputs.
    rec.flush();
    queue.writeBuffer(a.step, 0, new Uint32Array([n, pos0, kv.capacity, 0]));

    // the fed-back id is copied first: the weights may read it on the GPU to decode only its row
    if (feedback) rec.copies().copyBufferToBuffer(a.argmax, 0, a.ids, 0, U32_BYTES);
    const lookup = weights.embedding(ids, rec, a.ids);
    if (!feedback) queue.writeBuffer(a.ids, 0, lookup.ids);
    const ops = this.ops;
    const table = lookup.table;
    this.taped(rec.pass(), SEGMENT_EMBED, [n, table.buffer, table.byteOffset, table.rows], (pass) => ops.embed(pass, table, a.ids, a.x, n));

    for (let l = 0; l < c.layers; l++) {
      const w = weights.layer(l, rec);
      const vec = this.vectors.layers[l]!;
      const cache = kv.layer(l);
      // the attention's grid follows the positions, a segment at a time
      const deps = [n, cache.k, cache.v, kv.ropeTable, kv.attentionScratch, KvCache.segments(pos0 + n)];
      for (const m of LAYER_MATRICES) deps.push(w[m].buffer, w[m].byteOffset);
      this.taped(rec.pass(), l, deps, (pass) => {
        ops.rmsnorm(pass, a.x, vec.inputNorm, a.h, c.hiddenSize, c.rmsNormEps, n);
        ops.qkv(pass, w, a.h, a, n, { q: vec.qBias, k: vec.kBias, v: vec.vBias, qkv: vec.qkvBias });
        if (vec.qNorm && vec.kNorm) {
          ops.headNorm(pass, a.q, vec.qNorm, c.headDim, c.rmsNormEps, n * c.heads);
          ops.headNorm(pass, a.k, vec.kNorm, c.headDim, c.rmsNormEps, n * c.kvHeads);
        }
        ops.rope(pass, kv.ropeTable, { q: a.q, k: a.k, v: a.v, kCache: cache.k, vCache: cache.v }, { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim }, n);
        ops.attention(
          pass,
          { q: a.q, kCache: cache.k, vCache: cache.v, part: kv.attentionScratch, out: a.attn },
          { heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, segments: KvCache.segments(kv.capacity) },
          n,
          pos0 + n,
        );
        ops.matvec(pass, w.o, a.attn, a.x, n, { accumulate: true, bias: vec.oBias });
        ops.rmsnorm(pass, a.x, vec.postNorm, a.h, c.hiddenSize, c.rmsNormEps, n);
        ops.gateUp(pass, w.gate, w.up, a.h, a.gate, n);
        ops.matvec(pass, w.down, a.gate, a.x, n, { accumulate: true });
      });
    }

    if (!withHead) return;
    this.taped(rec.pass(), SEGMENT_FINAL_NORM, [], (pass) => ops.rmsnorm(pass, a.x, this.vectors.finalNorm, a.last, c.hiddenSize, c.rmsNormEps, 'last'));
    const head = weights.lmHead(rec);
    this.taped(rec.pass(), SEGMENT_HEAD, [head.buffer, head.byteOffset], (pass) => {
      ops.matvec(pass, head, a.last, a.logits, 1);
      ops.argmax(pass, a.logits, a.argmax, c.vocabSize);
    });
  }

  /** Runs `record` through the tape: replayed as last time when `deps` are unchanged. */
  private taped(pass: GPUComputePassEncoder, key: number, deps: readonly unknown[], record: (pass: GPUComputePassEncoder) => void): void {
    this.tape.run(pass, key, deps, (capture) => {
      this.ops.capture = capture;
      try {
        record(pass);
      } finally {
        this.ops.capture = undefined;
      }
    });
  }

  /** Forgets the recorded dispatches (after bind groups were cleared or buffers replaced). */
  clearTape(): void {
    this.tape.clear();
  }
}
