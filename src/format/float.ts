// Conversions between float formats used when importing weights into BF16: float32 -> BF16 with
// round-to-nearest-even (what PyTorch's `.to(torch.bfloat16)` does), and float16 -> float32 (exact).

const F32_ABS = 0x7fffffff;
const F32_EXP_ALL_ONES = 0x7f800000;
/** Quiet-NaN bit of a BF16 word; set so that truncating a NaN's payload can never yield an infinity. */
const BF16_QUIET_NAN_BIT = 0x0040;

/** One float32 bit pattern -> BF16 bit pattern, round to nearest, ties to even; NaN stays NaN. */
export function f32BitsToBf16(bits: number): number {
  if ((bits & F32_ABS) > F32_EXP_ALL_ONES) return ((bits >>> 16) | BF16_QUIET_NAN_BIT) & 0xffff;
  const lsb = (bits >>> 16) & 1;
  return ((bits + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** float32 values -> BF16 bit patterns (round to nearest even). */
export function f32ToBf16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  if (out.length < src.length) throw new RangeError('f32ToBf16: output shorter than input');
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToBf16(bits[i]!);
  return out;
}

/** One float16 bit pattern -> its exact float32 value. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** BF16 bit pattern -> float32 value (exact). */
export function bf16BitsToF32(w: number): number {
  const buf = new Float32Array(1);
  new Uint32Array(buf.buffer)[0] = (w & 0xffff) << 16;
  return buf[0]!;
}

