// The plain serial DF11 decoder: the oracle every other decoder is checked against (df11-format.md
// §8.2-8.3). It walks the unit's one continuous Huffman stream from bit 0 and needs neither `gaps` nor
// `output_positions`. Bounded on corrupt input: at most N symbols, at most 4 lookups per symbol, reads
// past the stream's end see zero bits, and nothing is written outside the output.
import { Df11Error } from '../errors.js';
import { FIRST_POINTER, LUT_ROW_BYTES } from './constants.js';
import type { Df11Unit } from './unit.js';
import { validateLuts, type UnitContext } from './validate-unit.js';

const WORD_BYTES = 4;
const WORD_BITS = 32;

/** Decodes a unit into a new array of N BF16 bit patterns. See {@link decodeUnitInto}. */
export function decodeUnit(unit: Df11Unit, context: UnitContext = {}): Uint16Array {
  const out = new Uint16Array(unit.signMantissa.length);
  decodeUnitInto(unit, out, context);
  return out;
}

/**
 * Decodes a unit into `out` (length N = `signMantissa.length`). Checks `luts` structurally first
 * (validateLuts); `gaps`, `output_positions` and `split_positions` are not used or checked here.
 * @throws Df11Error 'unit-invalid' (bad luts, B = 0), 'corrupt-lut-chain' (a 5th lookup level),
 *   'corrupt-zero-length' (a symbol of length 0), 'stream-length-mismatch' (ceil(S/8) != B).
 *   On error `out` may be partly written.
 * @throws RangeError when `out.length` is not N.
 */
export function decodeUnitInto(unit: Df11Unit, out: Uint16Array, context: UnitContext = {}): void {
  const { luts, encodedExponent: enc, signMantissa: sm } = unit;
  const n = sm.length;
  if (out.length !== n) throw new RangeError(`decodeUnitInto: output has ${out.length} elements, the unit has ${n}`);
  const decodeRows = validateLuts(luts, context);
  const lenBase = decodeRows * LUT_ROW_BYTES;
  const bytes = enc.length;
  if (bytes === 0) throw new Df11Error('unit-invalid', 'encoded_exponent is empty', context);

  const view = new DataView(enc.buffer, enc.byteOffset, bytes);
  const fullWords = Math.floor(bytes / WORD_BYTES);
  /** Big-endian word k of the stream, zero bits past its end. */
  const word = (k: number): number => {
    if (k < fullWords) return view.getUint32(k * WORD_BYTES, false) | 0;
    let v = 0;
    for (let j = 0; j < WORD_BYTES; j++) {
      const at = k * WORD_BYTES + j;
      v = (v << 8) | (at < bytes ? enc[at]! : 0);
    }
    return v;
  };

  let wi = 0; // index of `cur`
  let cur = word(0);
  let nxt = word(1);
  let r = 0; // bits of `cur` already consumed, 0..31
  for (let i = 0; i < n; i++) {
    // x: the 32 stream bits at the symbol's first bit. Two shifts keep r = 0 correct (shifts are mod 32).
    const x = (cur << r) | ((nxt >>> 1) >>> (31 - r));
    let e = luts[x >>> 24]!;
    if (e >= FIRST_POINTER) {
      e = luts[(LUT_ROW_BYTES - e) * LUT_ROW_BYTES + ((x >>> 16) & 0xff)]!;
      if (e >= FIRST_POINTER) {
        e = luts[(LUT_ROW_BYTES - e) * LUT_ROW_BYTES + ((x >>> 8) & 0xff)]!;
        if (e >= FIRST_POINTER) {
          e = luts[(LUT_ROW_BYTES - e) * LUT_ROW_BYTES + (x & 0xff)]!;
          if (e >= FIRST_POINTER) {
            throw new Df11Error('corrupt-lut-chain', `element ${i} at stream bit ${wi * WORD_BITS + r}: a 5th lookup level (value ${e})`, context);
          }
        }
      }
    }
    const len = luts[lenBase + e]!;
    if (len === 0) {
      throw new Df11Error('corrupt-zero-length', `element ${i} at stream bit ${wi * WORD_BITS + r}: exponent ${e} has code length 0`, context);
    }
    const s = sm[i]!;
    out[i] = ((s & 0x80) << 8) | (e << 7) | (s & 0x7f);
    r += len; // len <= 32 (validateLuts), so at most one word is crossed
    if (r >= WORD_BITS) {
      r -= WORD_BITS;
      cur = nxt;
      wi++;
      nxt = word(wi + 1);
    }
  }
  const streamBits = wi * WORD_BITS + r;
  if (Math.ceil(streamBits / 8) !== bytes) {
    throw new Df11Error('stream-length-mismatch', `the ${n} codes span ${streamBits} bits, so ceil(S/8) = ${Math.ceil(streamBits / 8)}, but encoded_exponent has ${bytes} bytes`, context);
  }
}
