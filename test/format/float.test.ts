import { test } from 'node:test';
import assert from 'node:assert/strict';
import { f32BitsToBf16, f16BitsToF32, bf16BitsToF32, f32ToBf16 } from '../../src/format/float.js';

const f32Bits = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0]!;

test('float32 -> BF16 rounds to nearest, ties to even', () => {
  assert.equal(f32BitsToBf16(0x3f800000), 0x3f80); // 1.0
  assert.equal(f32BitsToBf16(0x3f808000), 0x3f80); // tie, even stays
  assert.equal(f32BitsToBf16(0x3f818000), 0x3f82); // tie, odd rounds up
  assert.equal(f32BitsToBf16(0x3f808001), 0x3f81); // above half rounds up
  assert.equal(f32BitsToBf16(0x7f7fffff), 0x7f80); // max float rounds to +inf, as PyTorch does
  assert.equal(f32BitsToBf16(0xff800000), 0xff80); // -inf
  assert.equal(f32BitsToBf16(0x7f800001) & 0x7f80, 0x7f80); // NaN stays NaN ...
  assert.notEqual(f32BitsToBf16(0x7f800001) & 0x7f, 0); // ... with a non-zero mantissa
  assert.equal(f32BitsToBf16(f32Bits(-0)), 0x8000);
  assert.deepEqual([...f32ToBf16(new Float32Array([1, -2, 0.5]))], [0x3f80, 0xc000, 0x3f00]);
});

test('float16 and BF16 widen exactly', () => {
  assert.equal(f16BitsToF32(0x3c00), 1);
  assert.equal(f16BitsToF32(0xc000), -2);
  assert.equal(f16BitsToF32(0x0001), 2 ** -24);
  assert.equal(f16BitsToF32(0x7c00), Infinity);
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  assert.equal(bf16BitsToF32(0x3f80), 1);
  assert.equal(bf16BitsToF32(0xc0a0), -5);
});
