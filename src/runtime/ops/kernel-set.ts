/**
 * The compute kernels of the inference engine (src/gpu/kernels/rt-*.wgsl): each kernel's binding
 * types (explicit bind group layouts, never layout 'auto'), its workgroup size override, and the
 * compiled pipelines of one device.
 */
import {
  rtArgmaxWgsl,
  rtAttentionCombineWgsl,
  rtAttentionWgsl,
  rtEmbedWgsl,
  rtHeadNormWgsl,
  rtMatvecWgsl,
  rtRmsnormWgsl,
  rtRopeWgsl,
} from '../../gpu/kernels/wgsl.generated.js';

/** How a kernel binds each of its buffers, in binding order 0, 1, ... */
export type BindingKind = 'uniform' | 'read' | 'write';

export interface KernelSource {
  name: KernelName;
  code: string;
  bindings: readonly BindingKind[];
  /** Invocations per workgroup (override WG); a row kernel takes the row workgroup size of KernelShape. */
  workgroupSize: number | 'row';
  /**
   * rt-matvec's pipeline constants: gate/up pairs, several tokens per workgroup (entry point
   * main_batch), weights read from an exponent plane and sign_mantissa.
   */
  matvec?: { pair: boolean; batch: boolean; planes: boolean };
  /** rt-embed's PLANES constant. */
  planes?: boolean;
}

/** Invocations per workgroup of the per-row kernels (matvec, rmsnorm, attention). */
export const ROW_WORKGROUP = 256;
/** Invocations per workgroup of the element-wise kernels. */
export const ELEMENT_WORKGROUP = 64;
/** Rows per workgroup of rt-matvec (override ROWS, at most its MAX_ROWS). */
export const MATVEC_ROWS = 2;
/** rt-matvec's MAX_ROWS. */
export const MATVEC_MAX_ROWS = 4;
/** rt-matvec's MAX_TOKENS: most tokens per workgroup of the prompt products. */
export const MATVEC_MAX_TOKENS = 4;
const F32_BYTES = 4;
/** Positions per segment of rt-attention (its SEGMENT): one workgroup per segment, head and token. */
export const ATTENTION_SEGMENT = 256;
/** Invocations of the single argmax workgroup. */
export const ARGMAX_WORKGROUP = 256;

const EMBED_BINDINGS = ['uniform', 'uniform', 'read', 'read', 'write', 'read'] as const;
const MATVEC_BINDINGS = ['uniform', 'uniform', 'read', 'read', 'write', 'read', 'read', 'read', 'write', 'write', 'read', 'read'] as const;

export const KERNELS = {
  embed: { code: rtEmbedWgsl, bindings: EMBED_BINDINGS, workgroupSize: ELEMENT_WORKGROUP },
  /** rt-embed reading an exponent plane beside sign_mantissa. */
  embedPlanes: { code: rtEmbedWgsl, bindings: EMBED_BINDINGS, workgroupSize: ELEMENT_WORKGROUP, planes: true },
  rmsnorm: { code: rtRmsnormWgsl, bindings: ['uniform', 'uniform', 'read', 'read', 'write'], workgroupSize: 'row' },
  matvec: { code: rtMatvecWgsl, bindings: MATVEC_BINDINGS, workgroupSize: 'row', matvec: { pair: false, batch: false, planes: false } },
  /** rt-matvec with PAIR: the gate and up products and the activation in one dispatch. */
  matvecPair: { code: rtMatvecWgsl, bindings: MATVEC_BINDINGS, workgroupSize: 'row', matvec: { pair: true, batch: false, planes: false } },
  /** rt-matvec and its pair with several tokens per workgroup (prompts). */
  matvecBatch: { code: rtMatvecWgsl, bindings: MATVEC_BINDINGS, workgroupSize: 'row', matvec: { pair: false, batch: true, planes: false } },
  matvecPairBatch: { code: rtMatvecWgsl, bindings: MATVEC_BINDINGS, workgroupSize: 'row', matvec: { pair: true, batch: true, planes: false } },
  /** The four above reading DF11 weights as an exponent plane beside sign_mantissa. */
  matvecPlanes: { code: rtMatvecWgsl, bindings: MATVEC_BINDINGS, workgroupSize: 'row', matvec: { pair: false, batch: false, planes: true } },
  matvecPairPlanes: { code: rtMatvecWgsl, bindings: MATVEC_BINDINGS, workgroupSize: 'row', matvec: { pair: true, batch: false, planes: true } },
  matvecBatchPlanes: { code: rtMatvecWgsl, bindings: MATVEC_BINDINGS, workgroupSize: 'row', matvec: { pair: false, batch: true, planes: true } },
  matvecPairBatchPlanes: { code: rtMatvecWgsl, bindings: MATVEC_BINDINGS, workgroupSize: 'row', matvec: { pair: true, batch: true, planes: true } },
  headNorm: { code: rtHeadNormWgsl, bindings: ['uniform', 'uniform', 'read', 'write'], workgroupSize: 'row' },
  rope: { code: rtRopeWgsl, bindings: ['uniform', 'uniform', 'read', 'write', 'read', 'read', 'write', 'write'], workgroupSize: ELEMENT_WORKGROUP },
  attention: { code: rtAttentionWgsl, bindings: ['uniform', 'uniform', 'read', 'read', 'read', 'write'], workgroupSize: 'row' },
  attentionCombine: { code: rtAttentionCombineWgsl, bindings: ['uniform', 'uniform', 'read', 'write'], workgroupSize: 'row' },
  argmax: { code: rtArgmaxWgsl, bindings: ['uniform', 'read', 'write'], workgroupSize: ARGMAX_WORKGROUP },
} as const satisfies Record<string, Omit<KernelSource, 'name'>>;

export type KernelName = keyof typeof KERNELS;

/** A compiled kernel. */
export interface Kernel {
  name: KernelName;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  bindings: readonly BindingKind[];
  workgroupSize: number;
  /** Rows per workgroup (matvec's ROWS; 1 for the other kernels). */
  rowsPerWorkgroup: number;
  /** Tokens per workgroup (matvec's TOKENS; 1 for the other kernels). */
  tokensPerWorkgroup: number;
}

const COMPUTE_STAGE = 0x4; // GPUShaderStage.COMPUTE

function layoutEntries(bindings: readonly BindingKind[]): GPUBindGroupLayoutEntry[] {
  return bindings.map((kind, binding) => ({
    binding,
    visibility: COMPUTE_STAGE,
    buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
  }));
}

/**
 * Compiles one kernel. Uses createComputePipeline inside an error scope (not the async variant:
 * Dawn compiles that on a worker thread, where SwiftShader has crashed), so WGSL and validation
 * errors reject here with the compiler's messages.
 */
async function compileKernel(device: GPUDevice, name: KernelName, workgroupSize: number, matvecRows: number, batchTokens: number): Promise<Kernel> {
  const src: Omit<KernelSource, 'name'> = KERNELS[name];
  if (workgroupSize > device.limits.maxComputeInvocationsPerWorkgroup) {
    throw new RangeError(`kernel rt-${name} needs ${workgroupSize} invocations per workgroup; the device allows ${device.limits.maxComputeInvocationsPerWorkgroup}`);
  }
  const label = `rt-${name}`;
  const mv = src.matvec;
  const tokens = mv?.batch ? batchTokens : 1;
  device.pushErrorScope('validation');
  const layout = device.createBindGroupLayout({ label, entries: layoutEntries(src.bindings) });
  const module = device.createShaderModule({ label, code: src.code });
  const pipeline = device.createComputePipeline({
    label,
    layout: device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: mv?.batch ? 'main_batch' : 'main', constants: { WG: workgroupSize, ...(mv ? { ROWS: matvecRows, PAIR: mv.pair ? 1 : 0, TOKENS: tokens, PLANES: mv.planes ? 1 : 0 } : {}), ...(src.planes ? { PLANES: 1 } : {}) } },
  });
  const error = await device.popErrorScope();
  if (error) {
    const info = await module.getCompilationInfo();
    const lines = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
    throw new Error(`kernel ${label}: ${error.message}${lines.length > 0 ? `\n${lines.join('\n')}` : ''}`);
  }
  return { name, pipeline, layout, bindings: src.bindings, workgroupSize, rowsPerWorkgroup: mv ? matvecRows : 1, tokensPerWorkgroup: tokens };
}

/** Every kernel of the engine, compiled for one device. */
export type KernelSet = { readonly [K in KernelName]: Kernel };

/** Workgroup sizes of the kernels that reduce in workgroup memory (powers of two). */
export interface KernelShape {
  /** matvec, rmsnorm, head norm, attention (default ROW_WORKGROUP). */
  rowWorkgroup?: number;
  /** Rows per matvec workgroup, 1 to MATVEC_MAX_ROWS (default MATVEC_ROWS); results do not depend on it. */
  matvecRows?: number;
}

/**
 * Compiles every kernel. The row workgroup size fixes the order of the reductions, so results repeat
 * bit for bit only between engines with the same shape on the same device.
 */
export async function compileKernels(device: GPUDevice, shape: KernelShape = {}): Promise<KernelSet> {
  const row = shape.rowWorkgroup ?? ROW_WORKGROUP;
  if (!Number.isSafeInteger(row) || row < 1 || (row & (row - 1)) !== 0) throw new RangeError(`row workgroup size ${row} is not a power of two`);
  const matvecRows = shape.matvecRows ?? MATVEC_ROWS;
  if (!Number.isSafeInteger(matvecRows) || matvecRows < 1 || matvecRows > MATVEC_MAX_ROWS) throw new RangeError(`matvec rows per workgroup ${matvecRows} is not in 1..${MATVEC_MAX_ROWS}`);
  const names = Object.keys(KERNELS) as KernelName[];
  const out = {} as Record<KernelName, Kernel>;
  // tokens per workgroup of the prompt products: as many (up to MATVEC_MAX_TOKENS) as let the pair's
  // partial sums (invocations x 2 rows x tokens) fit the device's workgroup memory
  const sumsPerToken = row * 2 * matvecRows * F32_BYTES;
  const batchTokens = Math.max(1, Math.min(MATVEC_MAX_TOKENS, Math.floor(device.limits.maxComputeWorkgroupStorageSize / sumsPerToken)));
  for (const name of names) {
    const size: number | 'row' = KERNELS[name].workgroupSize;
    out[name] = await compileKernel(device, name, size === 'row' ? row : size, matvecRows, batchTokens);
  }
  return out;
}
