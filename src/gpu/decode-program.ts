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
}

const U32_BYTES = 4;
/** Workgroup bytes of the LUT rows (18 x 256 B) both kernels keep. */
const LUT_BYTES = 18 * 256;
/** decode.wgsl besides the stage: LUT rows, root table (256 u32), multi-symbol table (1024 u32), subgroup sums (64 u32). */
const DECODE_FIXED_BYTES = LUT_BYTES + U32_BYTES * (256 + 1024 + 64);
/** decode-portable.wgsl besides the stage: LUT rows and the scan array (256 u32). */
const PORTABLE_FIXED_BYTES = LUT_BYTES + U32_BYTES * 256;
const STAGE_WORD_BYTES = 4;
/** Stage sizes are rounded down to whole passes of 256 invocations over u32 words. */
const STAGE_WORD_QUANTUM = 256;
/**
 * Workgroup memory used by default (capped by the device limit). Measured on an H200 (dev/kernels/
 * README.md): a stage that holds a whole chunk (~12 k elements for LLM weights) avoids repeated
 * decoding, but NVIDIA's Vulkan driver fits only ~56 KB of workgroup memory per SM, so 24 KB (two
 * workgroups per SM) was the best of 12-32 KB.
 */
export const DEFAULT_WORKGROUP_BYTES = 24576;

/** The fast kernel (needs 'subgroups' with a linear layout). */
export const DECODE_KERNEL: DecodeKernelSource = {
  name: 'decode',
  code: decodeWgsl,
  fixedWorkgroupBytes: DECODE_FIXED_BYTES,
  usesSubgroups: true,
  workgroupSize: 256,
};

/** The kernel for devices without 'subgroups': same bindings and checks, no optional features. */
export const DECODE_PORTABLE_KERNEL: DecodeKernelSource = {
  name: 'decode-portable',
  code: decodePortableWgsl,
  fixedWorkgroupBytes: PORTABLE_FIXED_BYTES,
  workgroupSize: 256,
};

const LAYOUT_INVOCATIONS = 256;
const STORAGE = 0x80;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;

/**
 * True when the device has 'subgroups' and lays subgroups out as runs of consecutive
 * local_invocation_index in a 256-invocation workgroup (what decode.wgsl's scan assumes).
 */
export async function subgroupsAreLinear(device: GPUDevice): Promise<boolean> {
  if (!device.features.has('subgroups') || device.limits.maxComputeInvocationsPerWorkgroup < LAYOUT_INVOCATIONS) return false;
  const bytes = LAYOUT_INVOCATIONS * U32_BYTES;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: 'df11-subgroup-layout', code: subgroupLayoutWgsl });
  const pipeline = device.createComputePipeline({ label: 'df11-subgroup-layout', layout: 'auto', compute: { module, entryPoint: 'main' } });
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
    return `${kernel.name}|stage=${stageWords}`;
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
        compute: { module, entryPoint: 'main', constants: { STAGE_WORDS: stageWords } },
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
