// The decode "program": WGSL source, its specialisation constants and bind group layout, and a
// pipeline cache keyed by an explicit string. Kernel variants (dev/kernels) share the bindings of
// src/gpu/kernels/decode.wgsl and differ only in code and fixed workgroup memory use.
import { decodePortableWgsl, decodeWgsl, subgroupLayoutWgsl } from './kernels/wgsl.generated.js';

/** A decode kernel: WGSL with entry point `main`, the 8 bindings of decode.wgsl, override STAGE_WORDS. */
export interface DecodeKernelSource {
  /** Part of the pipeline cache key. */
  name: string;
  code: string;
  /** Workgroup memory the kernel uses besides its stage (bytes). */
  fixedWorkgroupBytes: number;
  /** Needs the 'subgroups' feature. */
  usesSubgroups?: boolean;
  /** Invocations per workgroup (for the device-limit check). */
  workgroupSize?: number;
  /**
   * The kernel loops over its dispatch's chunks with a grid stride (workgroup x, x + num_workgroups,
   * ...): dispatch at most this many workgroups. Absent: one workgroup per chunk.
   */
  persistentWorkgroups?: number;
  /** Workgroup memory to use when the caller names none (capped by the device limit). */
  defaultWorkgroupBytes?: number;
  /** Values of further override constants (besides STAGE_WORDS); part of the pipeline cache key. */
  constants?: Record<string, number>;
  /** The kernel has decode.wgsl's EXPONENT_PLANE constant (exponent plane output). */
  exponentPlane?: boolean;
  /** The kernel has decode.wgsl's INDEX_OUTPUT constant (builds the indexed decoder's index). */
  buildsIndex?: boolean;
}

const U32_BYTES = 4;
/** Workgroup bytes of the LUT rows (18 x 256 B) the portable kernel keeps. */
const LUT_BYTES = 18 * 256;
/** decode.wgsl besides the stage: subgroup sums (128 u32); its tables are read through the cache. */
const DECODE_FIXED_BYTES = U32_BYTES * 128;
/** decode-portable.wgsl besides the stage: LUT rows and the scan array (256 u32). */
const PORTABLE_FIXED_BYTES = LUT_BYTES + U32_BYTES * 256;
const STAGE_WORD_BYTES = 4;
/** Stage sizes are rounded down to whole passes of 256 invocations over u32 words. */
const STAGE_WORD_QUANTUM = 256;
/**
 * Workgroup memory of the fast kernel by default (capped by the device limit): a 4096-word stage,
 * which holds a whole chunk of LLM weights (~11.7 k elements at 10.8 bits/weight). Measured on an H200
 * (dev/kernels/README.md): 16.5 KB beat 12.5 KB by ~8 %.
 */
export const DEFAULT_WORKGROUP_BYTES = DECODE_FIXED_BYTES + 4096 * STAGE_WORD_BYTES;
/** The portable kernel's default (capped by the device limit; 16 KiB at WebGPU's defaults). */
export const PORTABLE_WORKGROUP_BYTES = 24576;
/** Invocations per workgroup of the fast kernel where the device allows it (one window each). */
export const FAST_WORKGROUP_SIZE = 512;
/** The fast kernel on devices limited to 256 invocations (two windows each). */
export const SMALL_WORKGROUP_SIZE = 256;

/** The fast kernel (needs 'subgroups' with a linear layout) at `workgroupSize` (512 or 256) invocations. */
export function decodeKernel(workgroupSize: number = FAST_WORKGROUP_SIZE): DecodeKernelSource {
  if (workgroupSize !== FAST_WORKGROUP_SIZE && workgroupSize !== SMALL_WORKGROUP_SIZE) {
    throw new RangeError(`the decode kernel runs at ${SMALL_WORKGROUP_SIZE} or ${FAST_WORKGROUP_SIZE} invocations, not ${workgroupSize}`);
  }
  return {
    name: `decode-wg${workgroupSize}`,
    code: decodeWgsl,
    fixedWorkgroupBytes: DECODE_FIXED_BYTES,
    usesSubgroups: true,
    workgroupSize,
    constants: { WG: workgroupSize },
    defaultWorkgroupBytes: DEFAULT_WORKGROUP_BYTES,
    exponentPlane: true,
    buildsIndex: true,
  };
}

/** The kernel for devices without 'subgroups': same bindings and checks, no optional features. */
export const DECODE_PORTABLE_KERNEL: DecodeKernelSource = {
  name: 'decode-portable',
  code: decodePortableWgsl,
  fixedWorkgroupBytes: PORTABLE_FIXED_BYTES,
  workgroupSize: 256,
  defaultWorkgroupBytes: PORTABLE_WORKGROUP_BYTES,
};

const STORAGE = 0x80;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;

/**
 * True when the device has 'subgroups' and lays subgroups out as runs of consecutive
 * local_invocation_index in a workgroup of `invocations` (what decode.wgsl's scan assumes).
 */
export async function subgroupsAreLinear(device: GPUDevice, invocations = SMALL_WORKGROUP_SIZE): Promise<boolean> {
  if (!device.features.has('subgroups') || device.limits.maxComputeInvocationsPerWorkgroup < invocations) return false;
  const bytes = invocations * U32_BYTES;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: 'df11-subgroup-layout', code: subgroupLayoutWgsl });
  const pipeline = device.createComputePipeline({
    label: 'df11-subgroup-layout',
    layout: 'auto',
    compute: { module, entryPoint: 'main', constants: { WG: invocations } },
  });
  const result = device.createBuffer({ size: bytes, usage: STORAGE | COPY_SRC });
  const readback = device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
  try {
    const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: result } }] });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(result, 0, readback, 0, bytes);
    device.queue.submit([encoder.finish()]);
    if (await device.popErrorScope()) return false;
    await readback.mapAsync(MAP_READ);
    const ok = new Uint32Array(readback.getMappedRange()).every((v) => v === 1);
    readback.unmap();
    return ok;
  } finally {
    result.destroy();
    readback.destroy();
  }
}

/**
 * The kernel a device gets by default: the fast kernel at 512 invocations where the device allows
 * them, else at 256, where 'subgroups' are laid out linearly; otherwise the portable kernel.
 */
export async function defaultDecodeKernel(device: GPUDevice): Promise<DecodeKernelSource> {
  for (const size of [FAST_WORKGROUP_SIZE, SMALL_WORKGROUP_SIZE]) {
    if (await subgroupsAreLinear(device, size)) return decodeKernel(size);
  }
  return DECODE_PORTABLE_KERNEL;
}

/** Stage words for a workgroup-memory budget. */
export function stageWordsFor(kernel: DecodeKernelSource, workgroupBytes: number): number {
  const words = Math.floor((workgroupBytes - kernel.fixedWorkgroupBytes) / STAGE_WORD_BYTES);
  const stage = Math.floor(words / STAGE_WORD_QUANTUM) * STAGE_WORD_QUANTUM;
  if (stage < STAGE_WORD_QUANTUM) throw new RangeError(`workgroup memory of ${workgroupBytes} bytes leaves no room for the stage of ${kernel.name}`);
  return stage;
}

/** Layout of decode.wgsl's bindings (explicit; not layout 'auto'). */
export function createDecodeBindGroupLayout(device: GPUDevice): GPUBindGroupLayout {
  const COMPUTE = 0x4; // GPUShaderStage.COMPUTE
  const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: COMPUTE, buffer: { type: 'uniform' } }];
  for (let binding = 1; binding <= 5; binding++) entries.push({ binding, visibility: COMPUTE, buffer: { type: 'read-only-storage' } });
  entries.push({ binding: 6, visibility: COMPUTE, buffer: { type: 'storage' } });
  entries.push({ binding: 7, visibility: COMPUTE, buffer: { type: 'storage' } });
  return device.createBindGroupLayout({ label: 'df11-decode', entries });
}

/** Compiled pipelines by key `${kernel.name}|stage=${stageWords}`. */
export class DecodePipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layout: GPUPipelineLayout;

  constructor(
    private readonly device: GPUDevice,
    readonly bindGroupLayout: GPUBindGroupLayout,
  ) {
    this.layout = device.createPipelineLayout({ label: 'df11-decode', bindGroupLayouts: [bindGroupLayout] });
  }

  static key(kernel: DecodeKernelSource, stageWords: number): string {
    const extra = Object.entries(kernel.constants ?? {}).map(([k, v]) => `|${k}=${v}`).join('');
    return `${kernel.name}|stage=${stageWords}${extra}`;
  }

  /** Compiles (once) and returns the pipeline; shader and validation errors reject here, not at dispatch. */
  async prepare(kernel: DecodeKernelSource, stageWords: number): Promise<GPUComputePipeline> {
    const key = DecodePipelineCache.key(kernel, stageWords);
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    const module = this.device.createShaderModule({ label: key, code: kernel.code });
    let p: GPUComputePipeline;
    try {
      p = await this.device.createComputePipelineAsync({
        label: key,
        layout: this.layout,
        compute: { module, entryPoint: 'main', constants: { ...kernel.constants, STAGE_WORDS: stageWords } },
      });
    } catch (cause) {
      const info = await module.getCompilationInfo();
      const lines = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
      throw new Error(`pipeline ${key}: ${String(cause)}${lines.length > 0 ? `\n${lines.join('\n')}` : ''}`, { cause });
    }
    this.pipelines.set(key, p);
    return p;
  }

  /** A pipeline prepared earlier. */
  get(kernel: DecodeKernelSource, stageWords: number): GPUComputePipeline {
    const p = this.pipelines.get(DecodePipelineCache.key(kernel, stageWords));
    if (!p) throw new Error(`pipeline ${DecodePipelineCache.key(kernel, stageWords)} was not prepared`);
    return p;
  }

  get size(): number {
    return this.pipelines.size;
  }
}
