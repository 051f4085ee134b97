/**
 * Kernel glue: validates sizes, builds (cached) uniforms and bind groups, and records one dispatch
 * of an rt-* kernel into an open compute pass. Each method states the shapes it expects; buffers are
 * bound whole unless a slice is given.
 */
import { Df11Error } from '../../errors.js';
import type { WeightRef } from '../weights/weight-provider.js';
import type { Binder } from './binder.js';
import type { Kernel, KernelSet } from './kernel-set.js';
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

function groups(n: number, size: number): number {
  return Math.ceil(n / size);
}

export class Ops {
  /** Bound where a kernel takes an optional buffer that is absent. */
  private readonly dummy: GPUBuffer;
  /** When set, every dispatch is also appended here (see Tape). */
  capture: TapeOp[] | undefined;

  constructor(
    readonly device: GPUDevice,
    readonly kernels: KernelSet,
    readonly binder: Binder,
    /** The 16-byte Step uniform (n_tokens, pos0, kv_capacity) written once per forward pass. */
    private readonly step: GPUBuffer,
    dummy: GPUBuffer,
  ) {
    this.dummy = dummy;
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
    const k = this.kernels.embed;
    const w = this.binder.weightBinding(table.buffer, table.byteOffset, table.rows * table.cols, table.name);
    const params = this.binder.uniform([table.cols, table.rows, w.elementOffset]);
    this.dispatch(pass, k, [params, { buffer: this.step }, w.slice, { buffer: ids }, { buffer: x }], groups(table.cols, k.workgroupSize), n);
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
    const k = this.kernels.matvec;
    const need = { x: n * w.cols * F32_BYTES, y: n * w.rows * F32_BYTES };
    if (x.size < need.x || y.size < need.y) throw new RangeError(`matvec ${w.name}: activation buffers too small for ${n} tokens`);
    const wb = this.binder.weightBinding(w.buffer, w.byteOffset, w.rows * w.cols, w.name);
    const rowGroups = Math.ceil(w.rows / k.rowsPerWorkgroup);
    const gridX = Math.min(rowGroups, this.device.limits.maxComputeWorkgroupsPerDimension);
    // 16-byte loads when every row starts on a 16-byte boundary of the bound range (then the range,
    // which ends with the last row, is a whole number of 16-byte words too)
    const vec4 = wb.elementOffset % VEC4_COLUMNS === 0 && w.cols % VEC4_COLUMNS === 0 && (wb.slice.size ?? 0) % VEC4_BYTES === 0 && x.size >= VEC4_BYTES;
    if (options.accumulate && options.swiglu) throw new RangeError(`matvec ${w.name}: accumulate and swiglu exclude each other`);
    const flags = (options.accumulate ? FLAG_ACCUMULATE : 0) | (options.swiglu ? FLAG_SWIGLU : 0) | (options.bias ? FLAG_BIAS : 0) | (vec4 ? FLAG_VEC4 : 0);
    const params = this.binder.uniform([w.rows, w.cols, wb.elementOffset, flags, gridX]);
    const w4 = vec4 ? wb.slice : { buffer: this.dummy };
    const x4 = vec4 ? { buffer: x, offset: 0, size: Math.floor(x.size / VEC4_BYTES) * VEC4_BYTES } : { buffer: this.dummy };
    this.dispatch(
      pass,
      k,
      [params, { buffer: this.step }, wb.slice, { buffer: x }, { buffer: y }, { buffer: options.bias ?? this.dummy }, w4, x4],
      gridX,
      groups(rowGroups, gridX),
      n,
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

  /** Causal GQA attention of n query tokens over cache rows 0 .. pos0 + t (score rows of Step.kv_capacity). */
  attention(
    pass: GPUComputePassEncoder,
    bufs: { q: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; att: GPUBuffer; out: GPUBuffer },
    shape: { heads: number; kvHeads: number; headDim: number },
    n: number,
  ): void {
    const k = this.kernels.attention;
    const scoreDiv = Math.fround(Math.sqrt(shape.headDim));
    const params = this.binder.uniform([shape.heads, shape.kvHeads, shape.headDim, { f32: scoreDiv }]);
    this.dispatch(
      pass,
      k,
      [params, { buffer: this.step }, { buffer: bufs.q }, { buffer: bufs.kCache }, { buffer: bufs.vCache }, { buffer: bufs.att }, { buffer: bufs.out }],
      shape.heads,
      n,
    );
  }

  /** result = [argmax index, max value bits] over logits [n]. */
  argmax(pass: GPUComputePassEncoder, logits: GPUBuffer, result: GPUBuffer, n: number): void {
    const k = this.kernels.argmax;
    const params = this.binder.uniform([n]);
    this.dispatch(pass, k, [params, { buffer: logits }, { buffer: result }], 1);
  }
}

