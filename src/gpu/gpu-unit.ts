// A DF11 unit resident on the GPU: its tensors copied as they are into zero-padded u32 buffers (the
// safetensors data is byte-aligned only, and the kernel reads words), plus a small status buffer the
// kernel raises error flags in. See decode-plan.ts for the padding each buffer needs.
import { readOutputPositions } from '../codec/output-positions.js';
import type { Df11Unit } from '../codec/unit.js';
import { validateUnit, type UnitContext } from '../codec/validate-unit.js';
import { Df11Error } from '../errors.js';
import { FIRST_POINTER, MAX_LUT_ROWS, LUT_ROW_BYTES } from '../codec/constants.js';
import { buildMultiSymbolTable, buildWideSymbolTable, MULTI_ENTRIES, WIDE_ENTRIES } from './multi-symbol-table.js';
import type { IndexedDispatch } from './indexed-plan.js';
import { paddedEncBytes, paddedGapsBytes, paddedSmBytes, type DecodeOutput, type DispatchPlan, type PlanGeometry } from './decode-plan.js';

/** Status words: [flags, first bad chunk, first bad group (indexed decode), unused]. */
export const STATUS_BYTES = 16;
/** The "no bad chunk" value of status word 1 (atomicMin target). */
export const STATUS_NO_CHUNK = 0xffffffff;
/** GPUBufferUsage bits, spelled out so this module needs no WebGPU globals. */
export const BUFFER_USAGE = {
  MAP_READ: 0x1,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;

/** A unit's dispatch plan for one output kind and offset, with its Params uniform buffer and bind groups. */
export interface PlannedDecode {
  output: DecodeOutput;
  outOffsetBytes: number;
  dispatches: DispatchPlan[];
  params: GPUBuffer;
  /** Bind groups per output buffer (one per dispatch). */
  bindGroups: WeakMap<GPUBuffer, GPUBindGroup[]>;
}

/** A unit uploaded by GpuDecoder.upload. Owned by the decoder that made it; free with destroy(). */
export interface GpuUnit {
  readonly id: number;
  readonly elements: number;
  readonly chunks: number;
  readonly context: UnitContext;
  readonly geometry: PlanGeometry;
  readonly buffers: {
    luts: GPUBuffer;
    enc: GPUBuffer;
    gaps: GPUBuffer;
    op: GPUBuffer;
    sm: GPUBuffer;
    status: GPUBuffer;
    /** The output index of the indexed decoder (indexed-plan.ts), where the decoder built one. */
    index?: GPUBuffer;
  };
  /** Plans by `${output}@${outOffsetBytes}`. */
  readonly plans: Map<string, PlannedDecode>;
  /** Indexed decode plans by `${output}@${outOffsetBytes}`. */
  readonly indexedPlans: Map<string, PlannedIndexedDecode>;
  /** True once recorded into an encoder since the last status check. */
  pendingCheck: boolean;
  /** The chunk kernel's gaps were freed (GpuDecoder.releaseChunkData): only the indexed kernel decodes it. */
  chunkDataReleased: boolean;
  destroyed: boolean;
}

/** A unit's indexed decode plan for one output kind and offset (decode-indexed.wgsl). */
export interface PlannedIndexedDecode {
  output: DecodeOutput;
  dispatches: IndexedDispatch[];
  params: GPUBuffer;
  bindGroups: WeakMap<GPUBuffer, GPUBindGroup[]>;
}

/** Initial (and cleared) status words. */
export const STATUS_CLEAR = [0, STATUS_NO_CHUNK, STATUS_NO_CHUNK, 0] as const;

/** A buffer of `size` bytes (rounded up to 4) holding `data` and zeros after it. */
function padded(device: GPUDevice, data: Uint8Array, size: number, label: string): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: Math.ceil(Math.max(size, data.length, 4) / 4) * 4,
    usage: BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_DST,
    mappedAtCreation: true,
  });
  new Uint8Array(buffer.getMappedRange()).set(data);
  buffer.unmap();
  return buffer;
}

/**
 * Layout of the `luts` binding: the unit's luts as stored, zero-padded to MAX_LUT_ROWS rows; the
 * derived narrow multi-symbol table (multi-symbol-table.ts) as MULTI_ENTRIES u32; the combined root
 * table (rootTable) as 256 u32; the wide multi-symbol table as 2 x WIDE_ENTRIES u32.
 */
export const LUT_BINDING_RAW_BYTES = MAX_LUT_ROWS * LUT_ROW_BYTES;
export const LUT_BINDING_ROOT_OFFSET = LUT_BINDING_RAW_BYTES + 4 * MULTI_ENTRIES;
export const LUT_BINDING_WIDE_OFFSET = LUT_BINDING_ROOT_OFFSET + 4 * LUT_ROW_BYTES;
export const LUT_BINDING_BYTES = LUT_BINDING_WIDE_OFFSET + 8 * WIDE_ENTRIES;
/** Bit position of the code length in a combined root entry. */
export const ROOT_LENGTH_SHIFT = 8;

/** Root row entries as exponent | length << 8 (length 0 for pointers: the kernel walks the rows). */
export function rootTable(luts: Uint8Array, decodeRows: number): Uint32Array {
  const lenRow = decodeRows * LUT_ROW_BYTES;
  const root = new Uint32Array(LUT_ROW_BYTES);
  for (let c = 0; c < LUT_ROW_BYTES; c++) {
    const v = luts[c]!;
    root[c] = v >= FIRST_POINTER ? v : v | (luts[lenRow + v]! << ROOT_LENGTH_SHIFT);
  }
  return root;
}

function lutBinding(luts: Uint8Array, decodeRows: number): Uint8Array {
  const bytes = new Uint8Array(LUT_BINDING_BYTES);
  bytes.set(luts);
  new Uint32Array(bytes.buffer, LUT_BINDING_RAW_BYTES, MULTI_ENTRIES).set(buildMultiSymbolTable(luts, decodeRows));
  new Uint32Array(bytes.buffer, LUT_BINDING_ROOT_OFFSET, LUT_ROW_BYTES).set(rootTable(luts, decodeRows));
  new Uint32Array(bytes.buffer, LUT_BINDING_WIDE_OFFSET, 2 * WIDE_ENTRIES).set(buildWideSymbolTable(luts, decodeRows));
  return bytes;
}

let nextUnitId = 1;

/**
 * Validates `unit` structurally (validateUnit: luts, sizes, gaps and output_positions) and copies its
 * tensors to the GPU.
 * @throws Df11Error 'unit-invalid' from validation; 'gpu-limit' when a tensor exceeds maxBufferSize.
 */
export function uploadUnit(device: GPUDevice, unit: Df11Unit, context: UnitContext = {}): GpuUnit {
  const geo = validateUnit(unit, context);
  const sizes = {
    enc: paddedEncBytes(geo.chunks),
    gaps: paddedGapsBytes(geo.chunks),
    sm: paddedSmBytes(geo.elements),
  };
  const largest = Math.max(sizes.enc, sizes.gaps, sizes.sm);
  if (largest > device.limits.maxBufferSize) {
    throw new Df11Error('gpu-limit', `a tensor needs ${largest} bytes; the device allows buffers of ${device.limits.maxBufferSize}`, context);
  }
  const op = readOutputPositions(unit.outputPositions, geo.chunks, geo.elements);
  const name = context.tensor ?? 'unit';
  const status = device.createBuffer({
    label: `${name}.status`,
    size: STATUS_BYTES,
    usage: BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST,
    mappedAtCreation: true,
  });
  new Uint32Array(status.getMappedRange()).set(STATUS_CLEAR);
  status.unmap();
  return {
    id: nextUnitId++,
    elements: geo.elements,
    chunks: geo.chunks,
    context,
    geometry: {
      elements: geo.elements,
      streamBytes: geo.streamBytes,
      chunks: geo.chunks,
      decodeRows: geo.decodeRows,
      opEntries: unit.outputPositions.length / 4,
      op,
    },
    buffers: {
      luts: padded(device, lutBinding(unit.luts, geo.decodeRows), LUT_BINDING_BYTES, `${name}.luts`),
      enc: padded(device, unit.encodedExponent, sizes.enc, `${name}.encoded_exponent`),
      gaps: padded(device, unit.gaps, sizes.gaps, `${name}.gaps`),
      op: padded(device, unit.outputPositions, unit.outputPositions.length + 8, `${name}.output_positions`),
      sm: padded(device, unit.signMantissa, sizes.sm, `${name}.sign_mantissa`),
      status,
    },
    plans: new Map(),
    indexedPlans: new Map(),
    pendingCheck: false,
    chunkDataReleased: false,
    destroyed: false,
  };
}

/** Frees the unit's GPU buffers. Safe to call twice. */
export function destroyUnit(u: GpuUnit): void {
  if (u.destroyed) return;
  u.destroyed = true;
  for (const b of Object.values(u.buffers)) b.destroy();
  for (const p of u.plans.values()) p.params.destroy();
  for (const p of u.indexedPlans.values()) p.params.destroy();
  u.plans.clear();
  u.indexedPlans.clear();
}
