/**
 * Bind groups and static uniform buffers for the engine's kernels, both cached: a uniform buffer by
 * its contents, a bind group by its kernel and the exact buffer ranges it binds. A forward pass of
 * an unchanged model therefore creates no GPU objects after the first one.
 */
import { Df11Error } from '../../errors.js';
import { align, BUFFER_USAGE, type GpuMemory } from '../gpu-memory.js';
import type { Kernel } from './kernel-set.js';

/** A range of a buffer to bind (whole buffer when offset/size are omitted). */
export interface BufferSlice {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

/** Uniform buffers are bound in 16-byte units (WGSL uniform struct alignment). */
const UNIFORM_ALIGN_BYTES = 16;
/**
 * Uniform slots per pool buffer. Allocated up front so that forward passes allocate nothing under a
 * memory cap; a model needs a few dozen distinct parameter sets (they do not depend on the layer).
 */
export const UNIFORM_POOL_SLOTS = 64;
/** Bytes per BF16 element. */
export const BF16_BYTES = 2;

/** A uniform field: a u32, or an f32 written as `{ f32: value }`. */
export type UniformField = number | { f32: number };

const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;

function bufferId(b: GPUBuffer): number {
  let id = bufferIds.get(b);
  if (id === undefined) {
    id = nextBufferId++;
    bufferIds.set(b, id);
  }
  return id;
}

/** Where a kernel reads BF16 element 0 of a weight: the bound range and the element offset in it. */
export interface WeightBinding {
  slice: BufferSlice;
  /** Elements between the start of the bound range and the weight's first element. */
  elementOffset: number;
}

export class Binder {
  private readonly uniforms = new Map<string, BufferSlice>();
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly pools: GPUBuffer[] = [];
  private used = 0;
  private readonly slotBytes: number;

  /** Allocates the first uniform pool (UNIFORM_POOL_SLOTS slots). */
  constructor(
    readonly device: GPUDevice,
    readonly memory: GpuMemory,
  ) {
    this.slotBytes = device.limits.minUniformBufferOffsetAlignment;
    this.addPool();
  }

  private addPool(): void {
    this.pools.push(this.memory.create(`rt-uniforms[${this.pools.length}]`, this.slotBytes * UNIFORM_POOL_SLOTS, BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST));
    this.used = 0;
  }

  /** A uniform range holding `fields` (padded to 16 bytes), shared by every caller with the same contents. */
  uniform(fields: readonly UniformField[]): BufferSlice {
    const words = new Uint32Array(align(Math.max(fields.length, 1) * 4, UNIFORM_ALIGN_BYTES) / 4);
    const floats = new Float32Array(words.buffer);
    fields.forEach((f, i) => {
      if (typeof f === 'number') {
        if (!Number.isInteger(f) || f < 0 || f > 0xffffffff) throw new RangeError(`uniform field ${i} = ${f} is not a u32`);
        words[i] = f;
      } else {
        floats[i] = f.f32;
      }
    });
    const key = Array.from(words, (w) => w.toString(16)).join(',');
    let slice = this.uniforms.get(key);
    if (slice === undefined) {
      if (this.used === UNIFORM_POOL_SLOTS) this.addPool();
      const buffer = this.pools[this.pools.length - 1]!;
      slice = { buffer, offset: this.used * this.slotBytes, size: words.byteLength };
      this.device.queue.writeBuffer(buffer, slice.offset!, words);
      this.used++;
      this.uniforms.set(key, slice);
    }
    return slice;
  }

  /** The bind group of `kernel` over `slices` (binding i = slices[i]). */
  bindGroup(kernel: Kernel, slices: readonly BufferSlice[]): GPUBindGroup {
    if (slices.length !== kernel.bindings.length) throw new RangeError(`rt-${kernel.name} takes ${kernel.bindings.length} bindings, got ${slices.length}`);
    const key = `${kernel.name}|${slices.map((s) => `${bufferId(s.buffer)}:${s.offset ?? 0}:${s.size ?? -1}`).join('|')}`;
    let group = this.groups.get(key);
    if (group === undefined) {
      group = this.device.createBindGroup({
        label: key,
        layout: kernel.layout,
        entries: slices.map((s, binding) => ({
          binding,
          resource: { buffer: s.buffer, ...(s.offset !== undefined ? { offset: s.offset } : {}), ...(s.size !== undefined ? { size: s.size } : {}) },
        })),
      });
      this.groups.set(key, group);
    }
    return group;
  }

  /**
   * The binding that covers bytes [byteOffset, endByte) of `buffer`: its start and size (to the next
   * `endAlign` boundary where the buffer has it: a byte plane is read in 8-byte words).
   */
  private weightSpan(buffer: GPUBuffer, byteOffset: number, endByte: number, endAlign = 4): { start: number; size: number } {
    const alignment = this.device.limits.minStorageBufferOffsetAlignment;
    const start = Math.floor(byteOffset / alignment) * alignment;
    return { start, size: Math.min(align(endByte, endAlign), Math.floor(buffer.size / 4) * 4) - start };
  }

  /** True when one binding covers bytes [byteOffset, endByte) of `buffer` within the device's limit. */
  fitsOneBinding(buffer: GPUBuffer, byteOffset: number, endByte: number): boolean {
    return this.weightSpan(buffer, byteOffset, endByte).size <= this.device.limits.maxStorageBufferBindingSize;
  }

  /**
   * The binding of `elements` values of `elementBytes` bytes (BF16, or 1 for a byte plane) starting
   * at byte `byteOffset` of `buffer`: the range starts at the aligned offset below and ends at the
   * 4-byte boundary after the last element (a byte plane: the 8-byte boundary, where the buffer
   * extends that far).
   * @throws Df11Error 'gpu-limit' when the range exceeds maxStorageBufferBindingSize.
   */
  weightBinding(buffer: GPUBuffer, byteOffset: number, elements: number, what: string, elementBytes = BF16_BYTES): WeightBinding {
    if (byteOffset % elementBytes !== 0) throw new RangeError(`${what}: ${elementBytes}-byte elements at byte offset ${byteOffset}`);
    if (byteOffset + elements * elementBytes > buffer.size) throw new RangeError(`${what}: ${elements} elements at byte ${byteOffset} overrun a buffer of ${buffer.size} bytes`);
    const { start, size } = this.weightSpan(buffer, byteOffset, byteOffset + elements * elementBytes, elementBytes === 1 ? 8 : 4);
    if (size > this.device.limits.maxStorageBufferBindingSize) {
      throw new Df11Error('gpu-limit', `${what} spans ${size} bytes; the device binds at most ${this.device.limits.maxStorageBufferBindingSize}`);
    }
    return { slice: { buffer, offset: start, size }, elementOffset: (byteOffset - start) / elementBytes };
  }

  /** Forgets bind groups (after buffers they name were destroyed). Uniform buffers stay. */
  clearBindGroups(): void {
    this.groups.clear();
  }
}
