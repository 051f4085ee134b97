// Reads the float weights of a TensorFlow.js graph model (model.json + .bin shards) and rounds them to
// BF16, so the tests can run the codec on real trained weights. Supports float32 tensors and the
// float16 / uint8 weight quantisation that tfjs converters write; int32 tensors are skipped.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { f16BitsToF32, f32ToBf16 } from '../../src/format/float.js';

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; scale?: number; min?: number };
}

export interface RealTensor {
  name: string;
  shape: number[];
  bf16: Uint16Array;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };

export function readTfjsWeightsAsBf16(modelJsonPath: string): RealTensor[] {
  const model = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as { weightsManifest: { paths: string[]; weights: ManifestWeight[] }[] };
  const out: RealTensor[] = [];
  for (const group of model.weightsManifest) {
    const data = Buffer.concat(group.paths.map((p) => readFileSync(join(dirname(modelJsonPath), p))));
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const stored = w.quantization?.dtype ?? w.dtype;
      const bytes = n * (BYTES[stored] ?? NaN);
      if (!Number.isFinite(bytes) || offset + bytes > data.length) throw new Error(`${modelJsonPath}: bad weight ${w.name}`);
      if (w.dtype === 'float32') {
        const f32 = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          if (stored === 'float32') f32[i] = view.getFloat32(offset + 4 * i, true);
          else if (stored === 'float16') f32[i] = f16BitsToF32(view.getUint16(offset + 2 * i, true));
          else if (stored === 'uint8') f32[i] = view.getUint8(offset + i) * (w.quantization!.scale ?? 1) + (w.quantization!.min ?? 0);
          else f32[i] = view.getUint16(offset + 2 * i, true) * (w.quantization!.scale ?? 1) + (w.quantization!.min ?? 0);
        }
        out.push({ name: w.name, shape: w.shape, bf16: f32ToBf16(f32) });
      }
      offset += bytes;
    }
  }
  return out;
}
