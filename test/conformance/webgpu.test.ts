// The WebGPU decoder (src/gpu) against the shared conformance suite, on whatever adapter is present
// (SwiftShader in CI; the test fails, not skips, without one): BF16 output, by the chunk kernel, the
// indexed kernel and the default decoder at an odd offset (webgpu-harness.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeAdapter } from '../../src/gpu/device.js';
import { runWebGpuConformance, webGpuDecoders } from './webgpu-harness.js';

const gpu = webGpuDecoders();

test('WebGPU adapter', async (t) => {
  await gpu.decoder();
  const adapter = gpu.context().adapter;
  t.diagnostic(`adapter: ${describeAdapter(adapter)}`);
  assert.ok(adapter.vendor.length + adapter.description.length > 0);
});

runWebGpuConformance('webgpu', gpu, 'bf16', (bytes) => new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2));
