// BF16 split and join (df11-format.md §4). A BF16 weight `s eeeeeeee mmmmmmm` becomes an 8-bit
// exponent (the Huffman symbol) and one raw byte holding the sign in bit 7 and the mantissa in bits 0-6.

/** Mask of the 8-bit exponent after shifting a BF16 word right by {@link EXPONENT_SHIFT}. */
export const EXPONENT_MASK = 0xff;
/** Position of the exponent's lowest bit inside a BF16 word. */
export const EXPONENT_SHIFT = 7;
/** Sign bit inside the sign/mantissa byte. */
export const SIGN_BIT = 0x80;
/** The 7 mantissa bits inside both the BF16 word and the sign/mantissa byte. */
export const MANTISSA_MASK = 0x7f;

/** The exponent field (0..255) of a BF16 bit pattern. */
export function bf16Exponent(w: number): number {
  return (w >>> EXPONENT_SHIFT) & EXPONENT_MASK;
}

/** The sign/mantissa byte of a BF16 bit pattern: sign in bit 7, mantissa in bits 0-6. */
export function bf16SignMantissa(w: number): number {
  return ((w >>> 8) & SIGN_BIT) | (w & MANTISSA_MASK);
}

/** Rebuilds the BF16 bit pattern from its exponent (0..255) and sign/mantissa byte. */
export function joinBf16(exponent: number, signMantissa: number): number {
  return ((signMantissa & SIGN_BIT) << 8) | (exponent << EXPONENT_SHIFT) | (signMantissa & MANTISSA_MASK);
}

/**
 * Splits `bf16` into exponents and sign/mantissa bytes. Either output may be omitted; given outputs must
 * have at least `bf16.length` elements (only that prefix is written).
 */
export function splitBf16(bf16: Uint16Array, exponents?: Uint8Array, signMantissa?: Uint8Array): void {
  const n = bf16.length;
  if ((exponents && exponents.length < n) || (signMantissa && signMantissa.length < n)) {
    throw new RangeError(`splitBf16: output shorter than the ${n} input elements`);
  }
  for (let i = 0; i < n; i++) {
    const w = bf16[i]!;
    if (exponents) exponents[i] = (w >>> EXPONENT_SHIFT) & EXPONENT_MASK;
    if (signMantissa) signMantissa[i] = ((w >>> 8) & SIGN_BIT) | (w & MANTISSA_MASK);
  }
}

/**
 * Joins exponents and sign/mantissa bytes into `out` (length n); both inputs need at least n elements.
 */
export function joinBf16Into(exponents: Uint8Array, signMantissa: Uint8Array, out: Uint16Array): void {
  const n = out.length;
  if (exponents.length < n || signMantissa.length < n) {
    throw new RangeError(`joinBf16Into: inputs shorter than the ${n} output elements`);
  }
  for (let i = 0; i < n; i++) {
    const sm = signMantissa[i]!;
    out[i] = ((sm & SIGN_BIT) << 8) | (exponents[i]! << EXPONENT_SHIFT) | (sm & MANTISSA_MASK);
  }
}
