// GpuDecoder: the host side of the WebGPU DF11 decoder. Upload units once, record their decode
// dispatches into any command encoder (many units per encoder), read the kernel's error flags back
// when convenient.
import type { UnitContext } from '../codec/validate-unit.js';
import type { Df11Unit } from '../codec/unit.js';
import { Df11Error } from '../errors.js';
import { OUTPUT_BYTES, outputEndBytes, planDispatches, PARAMS_SLOT_BYTES, type DecodeOutput, type DispatchPlan, type PlanLimits } from './decode-plan.js';
import {
  createDecodeBindGroupLayout,
  defaultDecodeKernel,
  DecodePipelineCache,
  DEFAULT_WORKGROUP_BYTES,
  stageWordsFor,
  type DecodeKernelSource,
} from './decode-program.js';
import { BUFFER_USAGE, destroyUnit, STATUS_BYTES, STATUS_CLEAR, STATUS_NO_CHUNK, uploadUnit, type GpuUnit, type PlannedDecode, type PlannedIndexedDecode } from './gpu-unit.js';
import { fullIndexBytes, indexBytes, indexDeltaBase, indexedDecodable, indexGroups, INDEX_GROUP, INDEXED_WORKGROUP_SIZE, planIndexedDispatches, type IndexedDispatch } from './indexed-plan.js';
import { decodeIndexedWgsl, decodeRowsPlanWgsl, indexPackWgsl } from './kernels/wgsl.generated.js';

/** The buffers and bind groups of one row decode (see decodeRowInPass). */
interface RowDecode {
  out: GPUBuffer;
  ids: GPUBuffer;
  key: string;
  buffers: GPUBuffer[];
  planGroup: GPUBindGroup;
  decodeGroup: GPUBindGroup;
  indirect: GPUBuffer;
}

const INDIRECT_USAGE = 0x0100;
const ROW_REQ_BYTES = 16;
const INDIRECT_BYTES = 16;
/** Invocations per workgroup of index-pack.wgsl. */
const PACK_WORKGROUP_SIZE = 128;

export interface GpuDecoderOptions {
  /** Upper bound on chunks per dispatch of the chunk kernel (default: as many as the limits allow). */
  maxChunksPerDispatch?: number;
  /** Upper bound on groups (64 elements) per dispatch of the indexed kernel (default: as the limits allow). */
  maxGroupsPerDispatch?: number;
  /** Workgroup memory the kernel may use (default: min(device limit, the kernel's default)). */
  workgroupStorageBytes?: number;
  /**
   * Kernel (dev/kernels variants share the bindings). Default: decode.wgsl (512 invocations where
   * allowed, else 256) where the device has
   * 'subgroups' laid out linearly, else decode-portable.wgsl.
   */
  kernel?: DecodeKernelSource;
  /**
   * Decode through a per-unit output index (decode-indexed.wgsl), built on the GPU when a unit is
   * uploaded (2.25 bytes per 64 weights), where the chunk kernel can build it (buildsIndex: decode.wgsl).
   * Default true.
   */
  indexed?: boolean;
  /** WGSL of the indexed kernel (default: decode-indexed.wgsl); for kernel experiments. */
  indexedCode?: string;
  /** Invocations per workgroup of the indexed kernel (default INDEXED_WORKGROUP_SIZE); for kernel experiments. */
  indexedWorkgroupSize?: number;
}

/** The indexed decoder's pipelines (decode-indexed.wgsl) and the index-building pipeline (decode.wgsl INDEX_OUTPUT). */
interface IndexedPipelines {
  workgroupSize: number;
  build: GPUComputePipeline;
  pack: GPUComputePipeline;
  bf16: GPUComputePipeline;
  exponents: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Kernel status flags (decode.wgsl STATUS_*) and what they mean. */
const STATUS_MESSAGES: ReadonlyArray<readonly [number, string]> = [
  [1, 'a code of length 0'],
  [2, 'a 5th LUT level'],
  [4, 'codes per chunk differ from output_positions'],
  [8, 'an output_positions range longer than a chunk can hold'],
  [16, 'a stream length that differs from encoded_exponent (ceil(S/8) != B)'],
  [32, 'gaps that disagree with the code boundaries'],
  [64, 'a group of codes that ends where the output index does not say (a corrupt index)'],
];
const MAP_MODE_READ = 0x1;
const STATUS_WORDS = STATUS_BYTES / 4;

/** The decode kernel's bindings for dispatch `d` of `unit`, its Params at `paramsOffset` of `params`. */
function decodeEntries(unit: GpuUnit, d: DispatchPlan, params: GPUBuffer, paramsOffset: number, out: GPUBuffer): GPUBindGroupEntry[] {
  const b = unit.buffers;
  return [
    { binding: 0, resource: { buffer: params, offset: paramsOffset, size: PARAMS_SLOT_BYTES } },
    { binding: 1, resource: { buffer: b.luts } },
    { binding: 2, resource: { buffer: b.enc, offset: d.enc.offset, size: d.enc.size } },
    { binding: 3, resource: { buffer: b.gaps, offset: d.gaps.offset, size: d.gaps.size } },
    { binding: 4, resource: { buffer: b.op } },
    { binding: 5, resource: { buffer: b.sm, offset: d.sm.offset, size: d.sm.size } },
    { binding: 6, resource: { buffer: out, offset: d.out.offset, size: d.out.size } },
    { binding: 7, resource: { buffer: b.status } },
  ];
}

/** The indexed kernel's bindings for dispatch `d` of `unit`. */
function indexedEntries(unit: GpuUnit, d: IndexedDispatch, params: GPUBuffer, paramsOffset: number, out: GPUBuffer): GPUBindGroupEntry[] {
  const b = unit.buffers;
  return [
    { binding: 0, resource: { buffer: params, offset: paramsOffset, size: PARAMS_SLOT_BYTES } },
    { binding: 1, resource: { buffer: b.luts } },
    { binding: 2, resource: { buffer: b.enc, offset: d.enc.offset, size: d.enc.size } },
    { binding: 3, resource: { buffer: b.index! } },
    { binding: 4, resource: { buffer: b.sm, offset: d.sm.offset, size: d.sm.size } },
    { binding: 5, resource: { buffer: out, offset: d.out.offset, size: d.out.size } },
    { binding: 6, resource: { buffer: b.status } },
  ];
}

function describeStatus(flags: number, chunk: number, group: number): string {
  const what = STATUS_MESSAGES.filter(([bit]) => (flags & bit) !== 0).map(([, m]) => m);
  const where =
    chunk !== STATUS_NO_CHUNK ? ` (first at chunk ${chunk})` : group !== STATUS_NO_CHUNK ? ` (first at element ${group * INDEX_GROUP})` : '';
  return `GPU decode found ${what.length > 0 ? what.join(', ') : `status ${flags}`}${where}`;
}

export class GpuDecoder {
  private readonly units = new Set<GpuUnit>();
  private destroyed = false;
  private readonly rowDecodes = new Map<GpuUnit, RowDecode[]>();
  private rowPlanner: { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } | undefined;

  private constructor(
    readonly device: GPUDevice,
    private readonly pipelines: DecodePipelineCache,
    private readonly pipeline: GPUComputePipeline,
    /** The kernel's exponent-plane pipeline, where it has one (decode.wgsl's EXPONENT_PLANE). */
    private readonly planePipeline: GPUComputePipeline | undefined,
    readonly kernel: DecodeKernelSource,
    readonly stageWords: number,
    private readonly maxChunksPerDispatch: number | undefined,
    private readonly indexedPipelines: IndexedPipelines | undefined,
    private readonly maxGroupsPerDispatch: number | undefined,
  ) {}

  /**
   * Compiles the decode pipeline for `device`.
   * @throws RangeError when the device's workgroup limits are below the kernel's needs.
   */
  static async create(device: GPUDevice, options: GpuDecoderOptions = {}): Promise<GpuDecoder> {
    const kernel = options.kernel ?? (await defaultDecodeKernel(device));
    if (kernel.usesSubgroups && !device.features.has('subgroups')) throw new RangeError(`${kernel.name} needs the 'subgroups' feature`);
    const limit = device.limits.maxComputeWorkgroupStorageSize;
    const bytes = Math.min(limit, options.workgroupStorageBytes ?? kernel.defaultWorkgroupBytes ?? DEFAULT_WORKGROUP_BYTES);
    const size = kernel.workgroupSize ?? 256;
    if (size > device.limits.maxComputeInvocationsPerWorkgroup) {
      throw new RangeError(`${kernel.name} needs ${size} invocations per workgroup; the device allows ${device.limits.maxComputeInvocationsPerWorkgroup}`);
    }
    const stageWords = stageWordsFor(kernel, bytes);
    const cache = new DecodePipelineCache(device, createDecodeBindGroupLayout(device));
    const pipeline = await cache.prepare(kernel, stageWords);
    const plane = kernel.exponentPlane ? await cache.prepare({ ...kernel, name: `${kernel.name}-exponents`, constants: { ...kernel.constants, EXPONENT_PLANE: 1 } }, stageWords) : undefined;
    let indexed: IndexedPipelines | undefined;
    if ((options.indexed ?? true) && kernel.buildsIndex) {
      const build = await cache.prepare({ ...kernel, name: `${kernel.name}-index`, constants: { ...kernel.constants, INDEX_OUTPUT: 1 } }, stageWords);
      indexed = await GpuDecoder.indexedPipelines(device, options.indexedCode ?? decodeIndexedWgsl, options.indexedWorkgroupSize ?? INDEXED_WORKGROUP_SIZE, build);
    }
    return new GpuDecoder(device, cache, pipeline, plane, kernel, stageWords, options.maxChunksPerDispatch, indexed, options.maxGroupsPerDispatch);
  }

  private static async indexedPipelines(device: GPUDevice, code: string, workgroupSize: number, build: GPUComputePipeline): Promise<IndexedPipelines> {
    const COMPUTE = 0x4;
    const types: GPUBufferBindingType[] = ['uniform', 'read-only-storage', 'read-only-storage', 'read-only-storage', 'read-only-storage', 'storage', 'storage'];
    const layout = device.createBindGroupLayout({
      label: 'df11-decode-indexed',
      entries: types.map((type, binding) => ({ binding, visibility: COMPUTE, buffer: { type } })),
    });
    const pipelineLayout = device.createPipelineLayout({ label: 'df11-decode-indexed', bindGroupLayouts: [layout] });
    const module = device.createShaderModule({ label: 'df11-decode-indexed', code });
    const make = (plane: boolean) =>
      device.createComputePipelineAsync({
        label: `df11-decode-indexed${plane ? '-exponents' : ''}`,
        layout: pipelineLayout,
        compute: { module, entryPoint: 'main', constants: { WG: workgroupSize, EXPONENT_PLANE: plane ? 1 : 0 } },
      });
    const pack = await device.createComputePipelineAsync({
      label: 'df11-index-pack',
      layout: 'auto',
      compute: { module: device.createShaderModule({ label: 'df11-index-pack', code: indexPackWgsl }), entryPoint: 'main' },
    });
    return { workgroupSize, build, pack, bf16: await make(false), exponents: await make(true), layout };
  }

  /** True when units are decoded through an output index (GpuDecoderOptions.indexed). */
  get indexed(): boolean {
    return this.indexedPipelines !== undefined;
  }

  /** The kernel whole units are decoded with: `decode-indexed-wg64`, or the chunk kernel's name. */
  get unitKernelName(): string {
    const p = this.indexedPipelines;
    return p ? `decode-indexed-wg${p.workgroupSize}` : this.kernel.name;
  }

  /** unitKernelName with the kernel that builds the index, for reports: `decode-indexed-wg64 (index: decode-wg512)`. */
  get kernelName(): string {
    return this.indexedPipelines ? `${this.unitKernelName} (index: ${this.kernel.name})` : this.kernel.name;
  }

  /** True when the kernel can write the exponent plane (decodeInPass with output 'exponents'). */
  get writesExponentPlane(): boolean {
    return this.planePipeline !== undefined;
  }

  /**
   * Validates `unit` structurally and copies its tensors to the GPU.
   * @throws Df11Error 'unit-invalid' (validation), 'gpu-limit' (a tensor larger than maxBufferSize).
   */
  upload(unit: Df11Unit, context: UnitContext = {}): GpuUnit {
    this.assertLive();
    const u = uploadUnit(this.device, unit, context);
    this.units.add(u);
    if (this.indexedPipelines && indexedDecodable(u.geometry, 0)) this.buildIndex(u, this.indexedPipelines);
    return u;
  }

  /**
   * GPU bytes that upload(unit) allocates for a while beyond the unit's own buffers (the index
   * builder's temporary buffer), freed once the GPU has run the submitted index build.
   */
  uploadScratchBytes(unit: Df11Unit): number {
    return this.indexedPipelines ? fullIndexBytes(unit.signMantissa.length) : 0;
  }

  /**
   * Builds the unit's output index on the GPU and submits it: decode.wgsl with INDEX_OUTPUT (the chunk
   * decoder's walk and checks) writes the start bit of every 64th element's code into a temporary
   * buffer, and index-pack.wgsl packs it into the resident index. Corrupt data is flagged in the
   * unit's status like a decode's.
   */
  private buildIndex(unit: GpuUnit, pipelines: IndexedPipelines): void {
    const name = unit.context.tensor ?? 'unit';
    const full = this.device.createBuffer({ label: `${name}.index-full`, size: fullIndexBytes(unit.elements), usage: BUFFER_USAGE.STORAGE });
    const index = this.device.createBuffer({ label: `${name}.index`, size: indexBytes(unit.elements), usage: BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_DST });
    unit.buffers.index = index;
    const plan = this.planned(unit, 0, 'exponents');
    const layout = this.pipelines.bindGroupLayout;
    const encoder = this.device.createCommandEncoder({ label: `index ${name}` });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipelines.build);
    plan.dispatches.forEach((d, i) => {
      const entries = decodeEntries(unit, d, plan.params, i * PARAMS_SLOT_BYTES, full);
      entries[6] = { binding: 6, resource: { buffer: full } };
      pass.setBindGroup(0, this.device.createBindGroup({ label: `${name}.index[${i}]`, layout, entries }));
      pass.dispatchWorkgroups(d.chunkCount);
    });
    const groups = indexGroups(unit.elements);
    const perDim = this.device.limits.maxComputeWorkgroupsPerDimension;
    const workgroups = Math.ceil(Math.ceil(groups / 2) / PACK_WORKGROUP_SIZE);
    const x = Math.min(workgroups, perDim);
    const params = this.device.createBuffer({ label: `${name}.index-pack`, size: 16, usage: BUFFER_USAGE.UNIFORM, mappedAtCreation: true });
    new Uint32Array(params.getMappedRange()).set([groups, indexDeltaBase(unit.elements), x * PACK_WORKGROUP_SIZE, 0]);
    params.unmap();
    pass.setPipeline(pipelines.pack);
    pass.setBindGroup(
      0,
      this.device.createBindGroup({
        label: `${name}.index-pack`,
        layout: pipelines.pack.getBindGroupLayout(0),
        entries: [params, full, index, unit.buffers.status].map((buffer, binding) => ({ binding, resource: { buffer } })),
      }),
    );
    pass.dispatchWorkgroups(x, Math.ceil(workgroups / x));
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    // Freed once the submitted work is done with them.
    full.destroy();
    params.destroy();
    unit.pendingCheck = true;
  }

  /** The unit's indexed dispatches for `output` at `outOffsetBytes`, planned once. */
  private plannedIndexed(unit: GpuUnit, outOffsetBytes: number, output: DecodeOutput): PlannedIndexedDecode {
    const key = `${output}@${outOffsetBytes}`;
    let p = unit.indexedPlans.get(key);
    if (!p) {
      const limits = {
        ...this.planLimits(),
        ...(this.maxGroupsPerDispatch === undefined ? {} : { maxGroupsPerDispatch: this.maxGroupsPerDispatch }),
        workgroupSize: this.indexedPipelines!.workgroupSize,
      };
      const dispatches = planIndexedDispatches(unit.geometry, limits, outOffsetBytes, output);
      p = { output, dispatches, params: this.paramsBuffer(`${unit.context.tensor ?? 'unit'}.indexed-params.${key}`, dispatches), bindGroups: new WeakMap() };
      unit.indexedPlans.set(key, p);
    }
    return p;
  }

  /** The device limits a dispatch plan respects. */
  private planLimits(): PlanLimits {
    const limits = this.device.limits;
    return {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      minStorageBufferOffsetAlignment: limits.minStorageBufferOffsetAlignment,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    };
  }

  /** A uniform buffer holding each dispatch's Params in its own PARAMS_SLOT_BYTES slot. */
  private paramsBuffer(label: string, dispatches: ReadonlyArray<{ params: Uint32Array }>): GPUBuffer {
    const params = this.device.createBuffer({
      label,
      size: PARAMS_SLOT_BYTES * dispatches.length,
      usage: BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST,
      mappedAtCreation: true,
    });
    const words = new Uint32Array(params.getMappedRange());
    dispatches.forEach((d, i) => words.set(d.params, (i * PARAMS_SLOT_BYTES) / 4));
    params.unmap();
    return params;
  }

  /** True when decodeInPass decodes this unit at this offset with the indexed kernel; else it takes the chunk kernel. */
  decodesIndexed(unit: GpuUnit, outOffsetBytes: number): boolean {
    return this.indexedPipelines !== undefined && unit.buffers.index !== undefined && indexedDecodable(unit.geometry, outOffsetBytes);
  }

  private indexedInPass(pass: GPUComputePassEncoder, unit: GpuUnit, out: GPUBuffer, outOffsetBytes: number, output: DecodeOutput): void {
    const pipelines = this.indexedPipelines!;
    const plan = this.plannedIndexed(unit, outOffsetBytes, output);
    let groups = plan.bindGroups.get(out);
    if (!groups) {
      groups = plan.dispatches.map((d, i) =>
        this.device.createBindGroup({ label: `${unit.context.tensor ?? 'unit'}.decode-indexed[${i}]`, layout: pipelines.layout, entries: indexedEntries(unit, d, plan.params, i * PARAMS_SLOT_BYTES, out) }),
      );
      plan.bindGroups.set(out, groups);
    }
    pass.setPipeline(output === 'exponents' ? pipelines.exponents : pipelines.bf16);
    plan.dispatches.forEach((d, i) => {
      pass.setBindGroup(0, groups[i]!);
      pass.dispatchWorkgroups(d.grid[0], d.grid[1]);
    });
  }

  /**
   * Frees what only the chunk kernel reads (the unit's gaps, ~2 % of its bytes) once its index is
   * built, for a unit that will only be decoded whole at 16-byte-aligned offsets (decodesIndexed):
   * afterwards a decode the indexed kernel cannot do, and row decodes, throw. Returns the bytes freed
   * (0 where the unit has no index).
   */
  releaseChunkData(unit: GpuUnit): number {
    if (unit.buffers.index === undefined || unit.chunkDataReleased) return 0;
    unit.chunkDataReleased = true;
    unit.buffers.gaps.destroy();
    return unit.buffers.gaps.size;
  }

  /** Frees a unit's buffers. */
  release(unit: GpuUnit): void {
    this.units.delete(unit);
    for (const r of this.rowDecodes.get(unit) ?? []) for (const b of r.buffers) b.destroy();
    this.rowDecodes.delete(unit);
    destroyUnit(unit);
  }

  /** The dispatches of `unit` for `output` at `outOffsetBytes`, planned once per output and offset. */
  private planned(unit: GpuUnit, outOffsetBytes: number, output: DecodeOutput = 'bf16'): PlannedDecode {
    const key = `${output}@${outOffsetBytes}`;
    let p = unit.plans.get(key);
    if (!p) {
      const limits = { ...this.planLimits(), ...(this.maxChunksPerDispatch === undefined ? {} : { maxChunksPerDispatch: this.maxChunksPerDispatch }) };
      const dispatches = planDispatches(unit.geometry, limits, outOffsetBytes, output);
      p = { output, outOffsetBytes, dispatches, params: this.paramsBuffer(`${unit.context.tensor ?? 'unit'}.params.${key}`, dispatches), bindGroups: new WeakMap() };
      unit.plans.set(key, p);
    }
    return p;
  }

  private bindGroups(unit: GpuUnit, plan: PlannedDecode, out: GPUBuffer): GPUBindGroup[] {
    let groups = plan.bindGroups.get(out);
    if (!groups) {
      const layout = this.pipelines.bindGroupLayout;
      groups = plan.dispatches.map((d: DispatchPlan, i: number) =>
        this.device.createBindGroup({ label: `${unit.context.tensor ?? 'unit'}.decode[${i}]`, layout, entries: decodeEntries(unit, d, plan.params, i * PARAMS_SLOT_BYTES, out) }),
      );
      plan.bindGroups.set(out, groups);
    }
    return groups;
  }

  private checkTarget(unit: GpuUnit, out: GPUBuffer, outOffsetBytes: number, output: DecodeOutput = 'bf16'): void {
    this.assertLive();
    if (unit.destroyed || !this.units.has(unit)) throw new RangeError('the unit was released or belongs to another decoder');
    const bytes = OUTPUT_BYTES[output];
    if (!Number.isSafeInteger(outOffsetBytes) || outOffsetBytes < 0 || outOffsetBytes % bytes !== 0) {
      throw new RangeError(`output offset ${outOffsetBytes} is not a non-negative multiple of ${bytes}`);
    }
    if (output === 'exponents' && this.planePipeline === undefined) throw new RangeError(`${this.kernel.name} does not write exponent planes`);
    const end = outputEndBytes(unit.elements, outOffsetBytes, output);
    if (out.size < end) throw new RangeError(`output buffer of ${out.size} bytes; the unit needs bytes up to ${end}`);
    if ((out.usage & BUFFER_USAGE.STORAGE) === 0) throw new RangeError('output buffer lacks STORAGE usage');
  }

  /**
   * Records the unit's dispatches into an open compute pass. Writes BF16 element i at byte
   * `outOffsetBytes + 2i` (offset even); when the unit's first or last element shares a 4-byte word
   * with other data, that other half is kept. Nothing outside [outOffsetBytes & ~3, align4(end)) is
   * changed, but `out` must extend to outputEndBytes(N, outOffsetBytes) (end rounded up to 16 bytes:
   * the kernels read and write whole words, pairs of words or 16-byte vectors). Errors in the data are
   * flagged on the GPU: see checkErrors().
   * With output 'exponents' (where writesExponentPlane), writes only element i's exponent, at byte
   * `outOffsetBytes + i` (any offset), with the same rules; with the unit's sign_mantissa it makes the
   * BF16 values.
   * Kernel: the indexed one where the unit has an index and the offset is a multiple of 16
   * (decodesIndexed), else the chunk kernel.
   * @throws RangeError when `out` is too small, lacks STORAGE usage, or the offset is odd (BF16); when
   *   only the chunk kernel could decode it and the unit's chunk data was released.
   */
  decodeInPass(pass: GPUComputePassEncoder, unit: GpuUnit, out: GPUBuffer, outOffsetBytes = 0, output: DecodeOutput = 'bf16'): void {
    this.checkTarget(unit, out, outOffsetBytes, output);
    unit.pendingCheck = true;
    if (this.decodesIndexed(unit, outOffsetBytes)) {
      this.indexedInPass(pass, unit, out, outOffsetBytes, output);
      return;
    }
    this.assertChunkData(unit);
    const plan = this.planned(unit, outOffsetBytes, output);
    const groups = this.bindGroups(unit, plan, out);
    pass.setPipeline(output === 'exponents' ? this.planePipeline! : this.pipeline);
    plan.dispatches.forEach((d, i) => {
      pass.setBindGroup(0, groups[i]!);
      pass.dispatchWorkgroups(Math.min(d.chunkCount, this.kernel.persistentWorkgroups ?? d.chunkCount));
    });
  }

  /**
   * Records the decode of only the chunks that hold row ids[0] of the unit read as a matrix of
   * `cols` columns whose row 0 starts at element `firstElement` (an embedding lookup whose token is
   * known only on the GPU): a one-invocation dispatch plans the chunk range, an indirect dispatch of
   * the decode kernel decodes it, into the same place of `out` as decodeInPass(pass, unit, out,
   * outOffsetBytes, output) would (BF16 values or the exponent plane). The rest of the output is left as it was. `ids` must hold the row when the
   * pass runs; a row past the matrix is clamped to its last row.
   * Returns false (recording nothing) when the unit's decode takes more than one dispatch.
   * @throws RangeError as decodeInPass.
   */
  decodeRowInPass(pass: GPUComputePassEncoder, unit: GpuUnit, out: GPUBuffer, outOffsetBytes: number, ids: GPUBuffer, cols: number, firstElement: number, output: DecodeOutput = 'bf16'): boolean {
    this.checkTarget(unit, out, outOffsetBytes, output);
    this.assertChunkData(unit);
    if (this.kernel.persistentWorkgroups !== undefined) return false;
    const plan = this.planned(unit, outOffsetBytes, output);
    if (plan.dispatches.length !== 1) return false;
    const r = this.rowDecode(unit, plan, out, ids, cols, firstElement);
    const planner = this.planner();
    pass.setPipeline(planner.pipeline);
    pass.setBindGroup(0, r.planGroup);
    pass.dispatchWorkgroups(1);
    pass.setPipeline(output === 'exponents' ? this.planePipeline! : this.pipeline);
    pass.setBindGroup(0, r.decodeGroup);
    pass.dispatchWorkgroupsIndirect(r.indirect, 0);
    unit.pendingCheck = true;
    return true;
  }

  private planner(): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    if (this.rowPlanner === undefined) {
      const types: GPUBufferBindingType[] = ['uniform', 'uniform', 'read-only-storage', 'read-only-storage', 'storage', 'storage'];
      const layout = this.device.createBindGroupLayout({
        label: 'df11-decode-rows-plan',
        entries: types.map((type, binding) => ({ binding, visibility: 0x4, buffer: { type } })),
      });
      const pipeline = this.device.createComputePipeline({
        label: 'df11-decode-rows-plan',
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module: this.device.createShaderModule({ label: 'df11-decode-rows-plan', code: decodeRowsPlanWgsl }), entryPoint: 'main' },
      });
      this.rowPlanner = { pipeline, layout };
    }
    return this.rowPlanner;
  }

  private rowDecode(unit: GpuUnit, plan: PlannedDecode, out: GPUBuffer, ids: GPUBuffer, cols: number, firstElement: number): RowDecode {
    const key = `${plan.output}@${plan.outOffsetBytes}|${cols}|${firstElement}`;
    const list = this.rowDecodes.get(unit) ?? [];
    this.rowDecodes.set(unit, list);
    const found = list.find((r) => r.out === out && r.ids === ids && r.key === key);
    if (found) return found;
    const label = `${unit.context.tensor ?? 'unit'}.row`;
    const req = this.device.createBuffer({ label: `${label}.req`, size: ROW_REQ_BYTES, usage: BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST });
    this.device.queue.writeBuffer(req, 0, new Uint32Array([cols, firstElement, 0, 0]));
    const rowParams = this.device.createBuffer({ label: `${label}.params`, size: PARAMS_SLOT_BYTES, usage: BUFFER_USAGE.UNIFORM | BUFFER_USAGE.STORAGE });
    const indirect = this.device.createBuffer({ label: `${label}.indirect`, size: INDIRECT_BYTES, usage: INDIRECT_USAGE | BUFFER_USAGE.STORAGE });
    const planGroup = this.device.createBindGroup({
      label: `${label}.plan`,
      layout: this.planner().layout,
      entries: [
        { binding: 0, resource: { buffer: plan.params, offset: 0, size: PARAMS_SLOT_BYTES } },
        { binding: 1, resource: { buffer: req } },
        { binding: 2, resource: { buffer: ids } },
        { binding: 3, resource: { buffer: unit.buffers.op } },
        { binding: 4, resource: { buffer: rowParams } },
        { binding: 5, resource: { buffer: indirect } },
      ],
    });
    const decodeGroup = this.device.createBindGroup({
      label: `${label}.decode`,
      layout: this.pipelines.bindGroupLayout,
      entries: decodeEntries(unit, plan.dispatches[0]!, rowParams, 0, out),
    });
    const r: RowDecode = { out, ids, key, buffers: [req, rowParams, indirect], planGroup, decodeGroup, indirect };
    list.push(r);
    return r;
  }

  /** Records the unit's decode as one compute pass of `encoder`. See decodeInPass. */
  decodeInto(encoder: GPUCommandEncoder, unit: GpuUnit, out: GPUBuffer, outOffsetBytes = 0, output: DecodeOutput = 'bf16'): void {
    this.checkTarget(unit, out, outOffsetBytes, output);
    const pass = encoder.beginComputePass({ label: `decode ${unit.context.tensor ?? 'unit'}` });
    this.decodeInPass(pass, unit, out, outOffsetBytes, output);
    pass.end();
  }

  /** Number of dispatches decodeInto records for the unit at `outOffsetBytes`. */
  dispatchCount(unit: GpuUnit, outOffsetBytes = 0): number {
    if (this.indexedPipelines && unit.buffers.index && indexedDecodable(unit.geometry, outOffsetBytes)) return this.plannedIndexed(unit, outOffsetBytes, 'bf16').dispatches.length;
    return this.planned(unit, outOffsetBytes).dispatches.length;
  }

  /**
   * Decodes the unit and reads the N BF16 values back (for tests and tools).
   * @throws Df11Error 'gpu-decode-error' when the kernel flagged corrupt data.
   */
  async decode(unit: GpuUnit): Promise<Uint16Array> {
    return new Uint16Array(await this.readBack(unit, 'bf16'));
  }

  /**
   * Decodes the unit's exponent plane (decodeInPass with output 'exponents') and reads the N bytes
   * back (for tests and tools).
   * @throws Df11Error 'gpu-decode-error' as decode(); RangeError where the kernel has no exponent plane.
   */
  async decodeExponents(unit: GpuUnit): Promise<Uint8Array> {
    return new Uint8Array(await this.readBack(unit, 'exponents'));
  }

  private async readBack(unit: GpuUnit, output: DecodeOutput): Promise<ArrayBuffer> {
    const size = outputEndBytes(unit.elements, 0, output);
    const out = this.device.createBuffer({ label: 'df11-decode-out', size, usage: BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC });
    const readback = this.device.createBuffer({ label: 'df11-decode-readback', size, usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST });
    try {
      const encoder = this.device.createCommandEncoder();
      this.decodeInto(encoder, unit, out, 0, output);
      encoder.copyBufferToBuffer(out, 0, readback, 0, size);
      this.device.queue.submit([encoder.finish()]);
      await this.checkUnits([unit]);
      await readback.mapAsync(MAP_MODE_READ);
      const values = readback.getMappedRange(0, size).slice(0, OUTPUT_BYTES[output] * unit.elements);
      readback.unmap();
      return values;
    } finally {
      out.destroy();
      readback.destroy();
    }
  }

  /**
   * Reads the status of every unit decoded since the last check and clears it.
   * @throws Df11Error 'gpu-decode-error' naming the first unit whose decode flagged corrupt data.
   */
  async checkErrors(): Promise<void> {
    this.assertLive();
    await this.checkUnits([...this.units].filter((u) => u.pendingCheck));
  }

  private async checkUnits(units: GpuUnit[]): Promise<void> {
    if (units.length === 0) return;
    const readback = this.device.createBuffer({
      label: 'df11-status-readback',
      size: STATUS_BYTES * units.length,
      usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST,
    });
    try {
      const encoder = this.device.createCommandEncoder();
      units.forEach((u, i) => encoder.copyBufferToBuffer(u.buffers.status, 0, readback, i * STATUS_BYTES, STATUS_BYTES));
      this.device.queue.submit([encoder.finish()]);
      await readback.mapAsync(MAP_MODE_READ);
      const words = new Uint32Array(readback.getMappedRange()).slice();
      readback.unmap();
      let failure: Df11Error | undefined;
      units.forEach((u, i) => {
        u.pendingCheck = false;
        const flags = words[i * STATUS_WORDS]!;
        if (flags === 0) return;
        this.device.queue.writeBuffer(u.buffers.status, 0, new Uint32Array(STATUS_CLEAR));
        failure ??= new Df11Error('gpu-decode-error', describeStatus(flags, words[i * STATUS_WORDS + 1]!, words[i * STATUS_WORDS + 2]!), u.context);
      });
      if (failure) throw failure;
    } finally {
      readback.destroy();
    }
  }

  /** Frees every unit and the decoder's buffers; the device stays usable. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const u of this.units) destroyUnit(u);
    this.units.clear();
    for (const list of this.rowDecodes.values()) for (const r of list) for (const b of r.buffers) b.destroy();
    this.rowDecodes.clear();
  }

  private assertChunkData(unit: GpuUnit): void {
    if (unit.chunkDataReleased) throw new RangeError(`${unit.context.tensor ?? 'the unit'}: its chunk data was released; only whole-unit decodes at 16-byte-aligned offsets remain`);
  }

  private assertLive(): void {
    if (this.destroyed) throw new Error('GpuDecoder was destroyed');
  }
}
