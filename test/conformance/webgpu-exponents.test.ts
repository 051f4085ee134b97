// The WebGPU decoder's exponent plane (decodeInPass with output 'exponents': one byte per element,
// the layout the engine's matrix products read beside the unit's sign_mantissa) against the shared
// conformance suite: the plane and the unit's sign_mantissa, put together on the host, must be the
// BF16 values bit for bit, and corrupt units must fail the same way; by the chunk kernel, the indexed
// kernel and the default decoder at an odd offset (webgpu-harness.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runWebGpuConformance, webGpuDecoders } from './webgpu-harness.js';

const gpu = webGpuDecoders();

test('the default kernel writes exponent planes', async () => {
  assert.ok((await gpu.decoder()).writesExponentPlane, 'the fast kernel is expected on this adapter (subgroups)');
});

/** BF16 values from an exponent plane and the unit's sign_mantissa bytes. */
function join(exponents: Uint8Array, signMantissa: Uint8Array): Uint16Array {
  const out = new Uint16Array(signMantissa.length);
  for (let i = 0; i < out.length; i++) {
    const sm = signMantissa[i]!;
    out[i] = ((sm & 0x80) << 8) | (exponents[i]! << 7) | (sm & 0x7f);
  }
  return out;
}

runWebGpuConformance('webgpu exponent plane', gpu, 'exponents', (bytes, unit) => join(bytes, unit.signMantissa));
