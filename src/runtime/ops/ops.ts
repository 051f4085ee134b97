/**
 * Kernel glue: validates sizes, builds (cached) uniforms and bind groups, and records one dispatch
 * of an rt-* kernel into an open compute pass. Each method states the shapes it expects; buffers are
 * bound whole unless a slice is given.
 */
import { Df11Error } from '../../errors.js';
import { elementBytes, type WeightRef } from '../weights/weight-provider.js';
import type { Binder, BufferSlice } from './binder.js';
import { ATTENTION_SEGMENT, type Kernel, type KernelSet } from './kernel-set.js';
import type { TapeOp } from './tape.js';

/** matvec flags (rt-matvec.wgsl FLAG_*). */
const FLAG_ACCUMULATE = 1;
const FLAG_BIAS = 2;
const FLAG_VEC4 = 4;
const FLAG_SWIGLU = 8;
const F32_BYTES = 4;
/** BF16 columns per 16-byte load of rt-matvec's vectorised path. */
const VEC4_COLUMNS = 8;
const VEC4_BYTES = 16;
/** Bytes of one 8-element load from a byte plane (rt-matvec's e2, s2). */
const PLANE_WORD_BYTES = 8;
const SPARE_BYTES = 16;
const STORAGE = 0x80;

/** The bytes of `buffer` from the first matrix's start to the last one's end. */
function byteRange(ws: readonly WeightRef[]): { lo: number; hi: number } {
  return { lo: Math.min(...ws.map((m) => m.byteOffset)), hi: Math.max(...ws.map((m) => m.byteOffset + m.rows * m.cols * elementBytes(m))) };
}

/** The same for the sign_mantissa plane of matrices given as planes. */
function smRange(ws: readonly WeightRef[]): { lo: number; hi: number } {
  return { lo: Math.min(...ws.map((m) => m.signMantissa!.byteOffset)), hi: Math.max(...ws.map((m) => m.signMantissa!.byteOffset + m.rows * m.cols)) };
}

/** True when the matrices are stored alike: all BF16, or all planes over one sign_mantissa buffer. */
function sameStorage(ws: readonly WeightRef[]): boolean {
  const sm = ws[0]!.signMantissa?.buffer;
  return ws.every((m) => m.buffer === ws[0]!.buffer && m.signMantissa?.buffer === sm);
}

function groups(n: number, size: number): number {
  return Math.ceil(n / size);
}

export class Ops {
  /** Bound where a kernel takes an optional buffer that is absent. */
  private readonly dummy: GPUBuffer;
  /** When set, every dispatch is also appended here (see Tape). */
  capture: TapeOp[] | undefined;
  /**
   * Bound as rt-matvec's y2 and y3 when a product has one output: writable bindings may not alias
   * one another, and the read-only dummy may not be writable in the same dispatch.
   */
  private readonly spareOutputs: [GPUBuffer, GPUBuffer];

  constructor(
    readonly device: GPUDevice,
    readonly kernels: KernelSet,
    readonly binder: Binder,
    /** The 16-byte Step uniform (n_tokens, pos0, kv_capacity) written once per forward pass. */
    private readonly step: GPUBuffer,
    dummy: GPUBuffer,
  ) {
    this.dummy = dummy;
    this.spareOutputs = [binder.memory.create('matvec.spare-y2', SPARE_BYTES, STORAGE), binder.memory.create('matvec.spare-y3', SPARE_BYTES, STORAGE)];
  }

  private dispatch(pass: GPUComputePassEncoder, kernel: Kernel, slices: Parameters<Binder['bindGroup']>[1], x: number, y = 1, z = 1): void {
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new Df11Error('gpu-limit', `rt-${kernel.name} needs ${x} x ${y} x ${z} workgroups; the device allows ${max} per dimension`);
    if (x === 0 || y === 0 || z === 0) return;
    const bindGroup = this.binder.bindGroup(kernel, slices);
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.capture?.push({ pipeline: kernel.pipeline, bindGroup, x, y, z });
  }

  /** x[t, :] = table[ids[t], :] for t < n; table [vocab, hidden] BF16. */
  embed(pass: GPUComputePassEncoder, table: WeightRef, ids: GPUBuffer, x: GPUBuffer, n: number): void {
    const planes = table.signMantissa;
    const k = planes ? this.kernels.embedPlanes : this.kernels.embed;
    const count = table.rows * table.cols;
    const w = this.binder.weightBinding(table.buffer, table.byteOffset, count, table.name, elementBytes(table));
    let sm: BufferSlice = { buffer: this.dummy };
    let delta = 0;
    if (planes) {
      const b = this.binder.weightBinding(planes.buffer, planes.byteOffset, count, `${table.name} (sign_mantissa)`, 1);
      sm = b.slice;
      delta = b.elementOffset - w.elementOffset;
    }
    const params = this.binder.uniform([table.cols, table.rows, w.elementOffset, delta >>> 0]);
    this.dispatch(pass, k, [params, { buffer: this.step }, w.slice, { buffer: ids }, { buffer: x }, sm], groups(table.cols, k.workgroupSize), n);
  }

  /** out = rmsnorm(x) * weight over rows of `dim`; `rows` rows, or only row n_tokens - 1 into out row 0. */
  rmsnorm(pass: GPUComputePassEncoder, x: GPUBuffer, weight: GPUBuffer, out: GPUBuffer, dim: number, eps: number, rows: number | 'last'): void {
    const k = this.kernels.rmsnorm;
    const params = this.binder.uniform([dim, { f32: eps }, rows === 'last' ? 1 : 0]);
    this.dispatch(pass, k, [params, { buffer: this.step }, { buffer: x }, { buffer: weight }, { buffer: out }], rows === 'last' ? 1 : rows);
  }

  /** In-place RMSNorm of `rows` vectors of `dim` (per-head q/k norms). */
  headNorm(pass: GPUComputePassEncoder, v: GPUBuffer, weight: GPUBuffer, dim: number, eps: number, rows: number): void {
    const k = this.kernels.headNorm;
    const params = this.binder.uniform([dim, { f32: eps }]);
    this.dispatch(pass, k, [params, { buffer: this.step }, { buffer: weight }, { buffer: v }], rows);
  }

  /**
   * y[t, :] (+)= W x[t, :] (+ bias) for t < n; W [rows, cols] BF16, x [n, cols], y [n, rows] f32.
   * `accumulate` adds into y (residual connection); `swiglu` makes it y = silu(y) * (W x) with y
   * holding the gate product (the up product and the MLP activation in one dispatch).
   */
  matvec(pass: GPUComputePassEncoder, w: WeightRef, x: GPUBuffer, y: GPUBuffer, n: number, options: { accumulate?: boolean; swiglu?: boolean; bias?: GPUBuffer | undefined } = {}): void {
    if (options.accumulate && options.swiglu) throw new RangeError(`matvec ${w.name}: accumulate and swiglu exclude each other`);
    this.product(pass, 'plain', [w], x, [y], n, (options.accumulate ? FLAG_ACCUMULATE : 0) | (options.swiglu ? FLAG_SWIGLU : 0), options.bias);
  }

  /**
   * q, k, v = Wq x, Wk x, Wv x (+ biases) for t < n. One dispatch when the three matrices lie back
   * to back in one buffer with the same columns (and the biases, if any, back to back in
   * `bias.qkv`); otherwise three. Both ways give the same bits: each row is summed in the same order.
   */
  qkv(
    pass: GPUComputePassEncoder,
    w: { q: WeightRef; k: WeightRef; v: WeightRef },
    x: GPUBuffer,
    out: { q: GPUBuffer; k: GPUBuffer; v: GPUBuffer },
    n: number,
    bias: { q?: GPUBuffer | undefined; k?: GPUBuffer | undefined; v?: GPUBuffer | undefined; qkv?: GPUBuffer | undefined } = {},
  ): void {
    const anyBias = bias.q !== undefined || bias.k !== undefined || bias.v !== undefined;
    const biasOk = !anyBias || (bias.q !== undefined && bias.k !== undefined && bias.v !== undefined && bias.qkv !== undefined);
    if (biasOk && this.backToBack([w.q, w.k, w.v])) {
      this.product(pass, 'plain', [w.q, w.k, w.v], x, [out.q, out.k, out.v], n, 0, anyBias ? bias.qkv : undefined);
      return;
    }
    this.matvec(pass, w.q, x, out.q, n, { bias: bias.q });
    this.matvec(pass, w.k, x, out.k, n, { bias: bias.k });
    this.matvec(pass, w.v, x, out.v, n, { bias: bias.v });
  }

  /**
   * g = silu(Wgate x) * (Wup x) for t < n, into `out`. One dispatch (rt-matvec's pairs) when both
   * matrices are in one buffer within one binding; otherwise the gate product, then the up product
   * with the activation. Both ways give the same bits.
   */
  gateUp(pass: GPUComputePassEncoder, gate: WeightRef, up: WeightRef, x: GPUBuffer, out: GPUBuffer, n: number): void {
    if (sameStorage([gate, up]) && gate.rows === up.rows && gate.cols === up.cols && this.bindable([gate, up])) {
      this.product(pass, 'pair', [gate, up], x, [out], n, 0, undefined);
      return;
    }
    this.matvec(pass, gate, x, out, n);
    this.matvec(pass, up, x, out, n, { swiglu: true });
  }

  /** True when the matrices lie back to back in one buffer (planes: in both), with the same columns, within one binding. */
  private backToBack(ws: readonly WeightRef[]): boolean {
    if (!sameStorage(ws)) return false;
    for (let i = 1; i < ws.length; i++) {
      const p = ws[i - 1]!;
      const m = ws[i]!;
      const n = p.rows * p.cols;
      if (m.cols !== p.cols || m.byteOffset !== p.byteOffset + n * elementBytes(p)) return false;
      if (p.signMantissa && m.signMantissa!.byteOffset !== p.signMantissa.byteOffset + n) return false;
    }
    return this.bindable(ws);
  }

  /** True when one binding of at most maxStorageBufferBindingSize covers every matrix (planes: in both). */
  private bindable(ws: readonly WeightRef[]): boolean {
    const { lo, hi } = byteRange(ws);
    if (!this.binder.fitsOneBinding(ws[0]!.buffer, lo, hi)) return false;
    const sm = ws[0]!.signMantissa;
    if (sm === undefined) return true;
    const r = smRange(ws);
    return this.binder.fitsOneBinding(sm.buffer, r.lo, r.hi);
  }

  /**
   * One rt-matvec dispatch over `ws`: plain, matrices back to back whose rows go to `ys` (1 or 3
   * outputs, see its segments); pair, [gate, up] into ys[0]. Several tokens take the pipelines with
   * several tokens per workgroup (same sums, same bits).
   */
  private product(pass: GPUComputePassEncoder, kind: 'plain' | 'pair', ws: readonly WeightRef[], x: GPUBuffer, ys: readonly GPUBuffer[], n: number, flags: number, bias: GPUBuffer | undefined): void {
    const pair = kind === 'pair';
    const first = ws[0]!;
    const planes = first.signMantissa !== undefined;
    if (!sameStorage(ws)) throw new RangeError(`matvec ${ws.map((m) => m.name).join(' + ')}: matrices stored differently`);
    const kernels = this.kernels;
    const k = kernels[`matvec${pair ? 'Pair' : ''}${n > 1 ? 'Batch' : ''}${planes ? 'Planes' : ''}` as const];
    const cols = first.cols;
    const rows = pair ? first.rows : ws.reduce((s, m) => s + m.rows, 0);
    const names = ws.map((m) => m.name).join(' + ');
    ws.forEach((m, i) => {
      if (x.size < n * cols * F32_BYTES || ys[pair ? 0 : i]!.size < n * m.rows * F32_BYTES) throw new RangeError(`matvec ${m.name}: activation buffers too small for ${n} tokens`);
    });
    // one binding from the first matrix to the end of the last (planes: one per plane)
    const eb = elementBytes(first);
    const { lo, hi } = byteRange(ws);
    const wb = this.binder.weightBinding(first.buffer, lo, (hi - lo) / eb, names, eb);
    const offsets = ws.map((m) => wb.elementOffset + (m.byteOffset - lo) / eb);
    let sm: { slice: { buffer: GPUBuffer; offset?: number; size?: number }; delta: number } | undefined;
    if (planes) {
      const r = smRange(ws);
      const sb = this.binder.weightBinding(first.signMantissa!.buffer, r.lo, r.hi - r.lo, `${names} (sign_mantissa)`, 1);
      // element e of the exponent binding has its sign_mantissa byte at element e + delta of this one
      const delta = sb.elementOffset + (first.signMantissa!.byteOffset - r.lo) - offsets[0]!;
      sm = { slice: sb.slice, delta };
      // the planes are read in 8-byte words: each binding must reach the word of its last byte
      for (const [slice, end] of [[wb.slice, hi], [sb.slice, r.hi]] as const) {
        if ((slice.offset ?? 0) + (slice.size ?? 0) < Math.ceil(end / PLANE_WORD_BYTES) * PLANE_WORD_BYTES) {
          throw new RangeError(`matvec ${names}: a byte plane's buffer ends within the 8-byte word of its last element`);
        }
      }
    }
    const rowGroups = Math.ceil(rows / k.rowsPerWorkgroup);
    const gridX = Math.min(rowGroups, this.device.limits.maxComputeWorkgroupsPerDimension);
    // 16-byte loads when every row starts on a 16-byte boundary of the bound range (then the range,
    // which ends with the last row, is a whole number of 16-byte words too)
    // (planes: 8-byte loads of each plane, both bindings whole 8-byte words, chunks aligned alike)
    const wordBytes = planes ? PLANE_WORD_BYTES : VEC4_BYTES;
    const planesAligned = !planes || (sm!.delta % VEC4_COLUMNS === 0 && (sm!.slice.size ?? 0) % PLANE_WORD_BYTES === 0);
    const vec4 = offsets.every((o) => o % VEC4_COLUMNS === 0) && cols % VEC4_COLUMNS === 0 && (wb.slice.size ?? 0) % wordBytes === 0 && x.size >= VEC4_BYTES && planesAligned;
    const all = flags | (bias ? FLAG_BIAS : 0) | (vec4 ? FLAG_VEC4 : 0);
    const seg1 = pair || ws.length === 1 ? rows : ws[0]!.rows;
    const seg2 = pair || ws.length === 1 ? rows : ws[0]!.rows + ws[1]!.rows;
    const params = this.binder.uniform([rows, cols, offsets[0]!, all, gridX, pair ? offsets[1]! : 0, seg1, seg2, planes ? sm!.delta >>> 0 : 0]);
    const w = planes ? { buffer: this.dummy } : wb.slice;
    const w4 = vec4 && !planes ? wb.slice : { buffer: this.dummy };
    const e2 = planes ? wb.slice : { buffer: this.dummy };
    const s2 = planes ? sm!.slice : { buffer: this.dummy };
    const x4 = vec4 ? { buffer: x, offset: 0, size: Math.floor(x.size / VEC4_BYTES) * VEC4_BYTES } : { buffer: this.dummy };
    const y = ys[0]!;
    // unused outputs: spare buffers the kernel never reaches
    const y2 = ys.length === 3 ? ys[1]! : this.spareOutputs[0];
    const y3 = ys.length === 3 ? ys[2]! : this.spareOutputs[1];
    this.dispatch(
      pass,
      k,
      [params, { buffer: this.step }, w, { buffer: x }, { buffer: y }, { buffer: bias ?? this.dummy }, w4, x4, { buffer: y2 }, { buffer: y3 }, e2, s2],
      ...((n > 1 ? [groups(n, k.tokensPerWorkgroup), gridX, groups(rowGroups, gridX)] : [gridX, groups(rowGroups, gridX), n]) as [number, number, number]),
    );
  }

  /**
   * Rotates q [n, heads, headDim] in place and writes the rotated k [n, kvHeads, headDim] and v to the
   * cache rows pos0 .. pos0 + n - 1 (k itself is left unrotated).
   */
  rope(
    pass: GPUComputePassEncoder,
    table: GPUBuffer,
    bufs: { q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer },
    shape: { heads: number; kvHeads: number; headDim: number },
    n: number,
  ): void {
    const k = this.kernels.rope;
    const params = this.binder.uniform([shape.heads, shape.kvHeads, shape.headDim]);
    this.dispatch(
      pass,
      k,
      [params, { buffer: this.step }, { buffer: table }, { buffer: bufs.q }, { buffer: bufs.k }, { buffer: bufs.v }, { buffer: bufs.kCache }, { buffer: bufs.vCache }],
      groups(((shape.heads + shape.kvHeads) * shape.headDim) / 2, k.workgroupSize),
      n,
    );
  }

  /**
   * Causal GQA attention of n query tokens over cache rows 0 .. pos0 + t: rt-attention over segments
   * of ATTENTION_SEGMENT positions (dispatch rows for `positions` = pos0 + n), then
   * rt-attention-combine. `part` holds `segments` segments per token and head.
   */
  attention(
    pass: GPUComputePassEncoder,
    bufs: { q: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; part: GPUBuffer; out: GPUBuffer },
    shape: { heads: number; kvHeads: number; headDim: number; segments: number },
    n: number,
    positions: number,
  ): void {
    const used = Math.ceil(positions / ATTENTION_SEGMENT);
    if (used > shape.segments) throw new RangeError(`attention over ${positions} positions needs ${used} segments; the scratch holds ${shape.segments}`);
    const scoreDiv = Math.fround(Math.sqrt(shape.headDim));
    const first = this.binder.uniform([shape.heads, shape.kvHeads, shape.headDim, { f32: scoreDiv }, shape.segments]);
    this.dispatch(
      pass,
      this.kernels.attention,
      [first, { buffer: this.step }, { buffer: bufs.q }, { buffer: bufs.kCache }, { buffer: bufs.vCache }, { buffer: bufs.part }],
      shape.heads,
      used,
      n,
    );
    const second = this.binder.uniform([shape.heads, shape.headDim, shape.segments]);
    this.dispatch(pass, this.kernels.attentionCombine, [second, { buffer: this.step }, { buffer: bufs.part }, { buffer: bufs.out }], shape.heads, n);
  }

  /** result = [argmax index, max value bits] over logits [n]. */
  argmax(pass: GPUComputePassEncoder, logits: GPUBuffer, result: GPUBuffer, n: number): void {
    const k = this.kernels.argmax;
    const params = this.binder.uniform([n]);
    this.dispatch(pass, k, [params, { buffer: logits }, { buffer: result }], 1);
  }
}

