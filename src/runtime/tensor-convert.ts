// Converting small tensors (norm weights, biases) to f32 on the host.
import { Df11Error } from '../errors.js';
import type { Dtype } from '../format/dtype.js';


/** An IEEE binary16 bit pattern as a number. */
function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The tensor's values as f32 (BF16 and F16 widen exactly). `name` appears in errors.
 * @throws Df11Error 'not-bf16' for other dtypes or a byte count that does not match.
 */
export function toFloat32(bytes: Uint8Array, dtype: Dtype, elements: number, name: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(elements);
  const width = dtype === 'F32' ? 4 : dtype === 'BF16' || dtype === 'F16' ? 2 : 0;
  if (width === 0) throw new Df11Error('not-bf16', `dtype ${dtype} is not supported for this tensor (BF16, F16, F32)`, { tensor: name });
  if (bytes.length !== elements * width) throw new Df11Error('shape-size-mismatch', `holds ${bytes.length} bytes, expected ${elements * width}`, { tensor: name });
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  for (let i = 0; i < elements; i++) {
    if (dtype === 'F32') {
      out[i] = view.getFloat32(i * 4, true);
    } else if (dtype === 'BF16') {
      bits[0] = view.getUint16(i * 2, true) << 16;
      out[i] = asFloat[0]!;
    } else {
      out[i] = f16ToNumber(view.getUint16(i * 2, true));
    }
  }
  return out;
}
