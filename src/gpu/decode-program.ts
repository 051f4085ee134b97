// The decode "program": WGSL source, its specialisation constants and bind group layout, and a
// pipeline cache keyed by an explicit string. Kernel variants (dev/kernels) share the bindings of
// src/gpu/kernels/decode.wgsl and differ only in code and fixed workgroup memory use.
import { decodeWgsl } from './kernels/wgsl.generated.js';

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
}

/** Workgroup bytes of decode.wgsl besides the stage: LUT (18 x 256 B) + scan (256 x 4 B). */
const DECODE_FIXED_BYTES = 18 * 256 + 256 * 4;
const STAGE_WORD_BYTES = 4;
/** Stage sizes are rounded down to whole passes of 256 invocations over u32 words. */
const STAGE_WORD_QUANTUM = 256;
/** Workgroup memory used by default: more stage means fewer rounds but fewer resident workgroups. */
export const DEFAULT_WORKGROUP_BYTES = 32768;

export const DECODE_KERNEL: DecodeKernelSource = {
  name: 'decode',
  code: decodeWgsl,
  fixedWorkgroupBytes: DECODE_FIXED_BYTES,
  workgroupSize: 256,
};

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

  /**
   * Compiles (once) and returns the pipeline; shader and validation errors reject here rather than at
   * dispatch. Uses createComputePipeline inside an error scope, not createComputePipelineAsync: Dawn's
   * asynchronous path compiles on a worker thread, where SwiftShader crashed (segfault) on this kernel.
   */
  async prepare(kernel: DecodeKernelSource, stageWords: number): Promise<GPUComputePipeline> {
    const key = DecodePipelineCache.key(kernel, stageWords);
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label: key, code: kernel.code });
    const p = this.device.createComputePipeline({
      label: key,
      layout: this.layout,
      compute: { module, entryPoint: 'main', constants: { STAGE_WORDS: stageWords } },
    });
    const error = await this.device.popErrorScope();
    if (error) {
      const info = await module.getCompilationInfo();
      const lines = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
      throw new Error(`pipeline ${key}: ${error.message}${lines.length > 0 ? `\n${lines.join('\n')}` : ''}`);
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
