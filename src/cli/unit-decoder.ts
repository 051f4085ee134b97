// The decoders the CLI uses for decompress and verify. The CPU one reads a unit's tensors straight into
// SharedArrayBuffers (so the decode threads use them without a copy), validates its structure (§10
// items 2-8), then decodes it with the chunk-parallel decoder on a pool of worker threads, which also
// checks item 9 (per-chunk counts, window gaps, stream length). Errors name the file and unit.
//
// Memory: the shared input and output buffers are sized once for the model's largest unit and reused
// for every unit (about 3.4 bytes per weight of the largest unit). Reuse matters: a worker keeps its
// last job's buffers referenced until its own garbage collection, which rarely runs in an idle
// decode thread, so fresh shared buffers per unit would pile up over a whole model.
//
// The WebGPU one (--gpu) uploads each unit, decodes it with the GPU decoder (which flags the same
// item-9 errors) and reads the BF16 weights back; one unit is on the GPU at a time.
import { DecodePool } from '../codec/decode-parallel.js';
import { GpuDecoder } from '../gpu/decoder.js';
import type { GpuContext } from '../gpu/device.js';
import { acquireCliGpu } from './cli-gpu.js';
import type { CliContext } from './command.js';
import type { Df11Unit } from '../codec/unit.js';
import { validateUnit } from '../codec/validate-unit.js';
import { Df11Error } from '../errors.js';
import type { Df11Model, Df11UnitRef } from '../format/df11-open.js';
import { bytesToBigInt64 } from '../format/df11-unit-tensors.js';

const BF16_BYTES = 2;
const SHARED_FIELDS = ['luts', 'encoded_exponent', 'sign_mantissa', 'output_positions', 'gaps'] as const;
type SharedField = (typeof SHARED_FIELDS)[number];

export interface UnitDecoder {
  /**
   * Reads, validates and decodes unit `u` of `model`; throws Df11Error naming its file and path.
   * The result is a view on a buffer reused by the next decode() call: use it before then.
   */
  decode(model: Df11Model, u: Df11UnitRef): Promise<Uint16Array>;
  close(): Promise<void>;
}

interface Buffers {
  fields: Record<SharedField, SharedArrayBuffer>;
  out: SharedArrayBuffer;
}

/** A decoder splitting each unit's chunks over `threads` worker threads. */
export function createUnitDecoder(threads: number): UnitDecoder {
  const pool = new DecodePool({ threads });
  const buffers = new WeakMap<Df11Model, Buffers>();
  return {
    async decode(model, u) {
      const context = { file: u.fields.encoded_exponent.file, tensor: u.path };
      let b = buffers.get(model);
      if (b === undefined) buffers.set(model, (b = allocate(model)));
      try {
        const unit = await readUnitShared(model, u, b);
        validateUnit(unit, context);
        const out = new Uint16Array(b.out, 0, u.geometry.n);
        await pool.decodeInto(unit, out, context);
        return out;
      } catch (e) {
        throw e instanceof Df11Error ? e.withContext(context) : e;
      }
    },
    close: () => pool.close(),
  };
}

/**
 * A decoder on the WebGPU adapter (a hardware GPU, else SwiftShader); says which on stderr. close()
 * lets the device go.
 */
export async function openGpuUnitDecoder(ctx: CliContext): Promise<UnitDecoder> {
  const gpu = await acquireCliGpu(ctx);
  try {
    const decoder = await GpuDecoder.create(gpu.device);
    ctx.info(`decoding on that adapter (WebGPU, kernel ${decoder.kernelName})`);
    return gpuUnitDecoder(gpu, decoder);
  } catch (e) {
    gpu.destroy();
    throw e;
  }
}

function gpuUnitDecoder(gpu: GpuContext, decoder: GpuDecoder): UnitDecoder {
  return {
    async decode(model, u) {
      const context = { file: u.fields.encoded_exponent.file, tensor: u.path };
      try {
        const unit = await readUnit(model, u, (bytes) => new Uint8Array(bytes));
        const g = decoder.upload(unit, context);
        try {
          return await decoder.decode(g);
        } finally {
          decoder.release(g);
        }
      } catch (e) {
        throw e instanceof Df11Error ? e.withContext(context) : e;
      }
    },
    async close() {
      decoder.destroy();
      gpu.destroy();
    },
  };
}

/** Shared buffers large enough for every unit of the model. */
function allocate(model: Df11Model): Buffers {
  const max = (f: SharedField) => Math.max(0, ...model.units.map((u) => u.fields[f].end - u.fields[f].start));
  const fields = Object.fromEntries(SHARED_FIELDS.map((f) => [f, new SharedArrayBuffer(max(f))])) as Record<SharedField, SharedArrayBuffer>;
  return { fields, out: new SharedArrayBuffer(Math.max(0, ...model.units.map((u) => u.geometry.n)) * BF16_BYTES) };
}

/** The unit's six tensors, the byte tensors read into the shared buffers. */
function readUnitShared(model: Df11Model, u: Df11UnitRef, b: Buffers): Promise<Df11Unit> {
  return readUnit(model, u, (bytes, field) => new Uint8Array(b.fields[field], 0, bytes));
}

/** The unit's six tensors, each byte tensor read into `alloc(its length, its field)`. */
async function readUnit(model: Df11Model, u: Df11UnitRef, alloc: (bytes: number, field: SharedField) => Uint8Array): Promise<Df11Unit> {
  const read = async (field: SharedField): Promise<Uint8Array> => {
    const ref = u.fields[field];
    const out = alloc(ref.end - ref.start, field);
    await model.safetensors.reader(ref.name).readRangeInto(ref.name, 0, out);
    return out;
  };
  const [luts, encodedExponent, signMantissa, outputPositions, gaps] = await Promise.all(SHARED_FIELDS.map(read));
  const split = await model.readTensor(u.fields.split_positions.name);
  return { luts: luts!, encodedExponent: encodedExponent!, signMantissa: signMantissa!, outputPositions: outputPositions!, gaps: gaps!, splitPositions: bytesToBigInt64(split) };
}
