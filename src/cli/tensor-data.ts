// Tensor data for compress: a unit's BF16 weights gathered into one buffer, and streamed sources for
// the tensors copied unchanged. With `castBf16`, F32 tensors are converted to BF16 on the fly
// (round to nearest even, as PyTorch's `.to(torch.bfloat16)`).
import { Df11Error } from '../errors.js';
import type { TensorSource } from '../format/df11-layout.js';
import type { PlannedUnit, TensorInfo } from '../format/df11-units.js';
import { f32ToBf16 } from '../format/float.js';
import type { SafetensorsModel } from '../format/safetensors-model.js';

/** Chunk size for streamed copies and F32 conversion, in bytes (a multiple of 4). */
export const COPY_CHUNK_BYTES = 4 * 1024 * 1024;
const BF16_BYTES = 2;
const F32_BYTES = 4;

/** The dtype a tensor gets in the output: F32 becomes BF16 when casting, anything else is kept. */
export function outputDtype(info: TensorInfo, castBf16: boolean): TensorInfo['dtype'] {
  return castBf16 && info.dtype === 'F32' ? 'BF16' : info.dtype;
}

/**
 * The unit's attr weights concatenated in attr order as BF16 bit patterns, in a fresh buffer owned
 * by the returned array (so it can be transferred to a worker).
 */
export async function readUnitBf16(model: SafetensorsModel, unit: PlannedUnit, castBf16: boolean): Promise<Uint16Array> {
  const out = new Uint16Array(unit.numel);
  let at = 0;
  for (const a of unit.attrs) {
    const name = a.source; // the tensor holding the data (differs from a.tensor for a tied alias)
    const entry = model.entry(name);
    const target = out.subarray(at, at + a.numel);
    if (entry.dtype === 'BF16') {
      await model.reader(name).readRangeInto(name, 0, new Uint8Array(target.buffer, target.byteOffset, target.byteLength));
    } else if (entry.dtype === 'F32' && castBf16) {
      let k = 0;
      for await (const chunk of model.reader(name).stream(name, COPY_CHUNK_BYTES)) {
        const f32 = new Float32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / F32_BYTES);
        f32ToBf16(f32, target.subarray(k, k + f32.length));
        k += f32.length;
      }
    } else {
      throw new Df11Error('not-bf16', `unit ${unit.path} needs BF16 weights but this one is ${entry.dtype}`, { file: entry.file, tensor: name });
    }
    at += a.numel;
  }
  return out;
}

/** A write source streaming tensor `name` from `model` (converted to BF16 when casting an F32 tensor). */
export function copySource(model: SafetensorsModel, name: string, castBf16: boolean): TensorSource {
  const e = model.entry(name);
  const convert = castBf16 && e.dtype === 'F32';
  const reader = model.reader(name);
  return {
    name,
    dtype: convert ? 'BF16' : e.dtype,
    shape: [...e.shape],
    data: () =>
      convert
        ? (async function* () {
            for await (const chunk of reader.stream(name, COPY_CHUNK_BYTES)) {
              const bf16 = f32ToBf16(new Float32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / F32_BYTES));
              yield new Uint8Array(bf16.buffer, 0, bf16.length * BF16_BYTES);
            }
          })()
        : reader.stream(name, COPY_CHUNK_BYTES),
  };
}
