// rt-matvec reads a row either with 16-byte loads (weights at an element offset and a width that
// are multiples of 8) or gathered from 32-bit words (any offset, e.g. an odd one inside a decoded
// DF11 unit): both give the same bits whatever the rows per workgroup, and match a CPU product within
// f32 rounding. Weights given as an exponent plane beside sign_mantissa give the same bits too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUFFER_USAGE, GpuMemory } from '../../src/runtime/gpu-memory.js';
import { Binder } from '../../src/runtime/ops/binder.js';
import { compileKernels } from '../../src/runtime/ops/kernel-set.js';
import { Ops } from '../../src/runtime/ops/ops.js';
import { syntheticBf16Weights } from '../../src/synthetic/weights.js';
import { readF32, testGpu } from './runtime-helpers.js';

/** The engine's ops for products of `tokens` tokens, their buffers in `memory`. */
async function testOps(device: GPUDevice, memory: GpuMemory, tokens: number, matvecRows?: number): Promise<Ops> {
  const kernels = await compileKernels(device, { rowWorkgroup: 8, ...(matvecRows !== undefined ? { matvecRows } : {}) });
  const step = memory.createWith('step', new Uint32Array([tokens, 0, 1, 0]), BUFFER_USAGE.UNIFORM);
  const dummy = memory.create('dummy', 16, BUFFER_USAGE.STORAGE);
  return new Ops(device, kernels, new Binder(device, memory), step, dummy);
}

function bf16ToF32(b: number): number {
  return new Float32Array(new Uint32Array([b << 16]).buffer)[0]!;
}

/** y = W x on the GPU with W stored at element `offset` of its buffer; 2 tokens unless told. */
async function product(w: Uint16Array, rows: number, cols: number, x: Float32Array, offset: number, matvecRows?: number, tokens = 2): Promise<Float32Array> {
  const gpu = await testGpu();
  const device = gpu.device;
  const memory = new GpuMemory(device, undefined);
  try {
    const ops = await testOps(device, memory, tokens, matvecRows);
    const stored = new Uint16Array(offset + w.length + 8);
    stored.set(w, offset);
    const wBuf = memory.createWith('w', stored, BUFFER_USAGE.STORAGE);
    const xBuf = memory.createWith('x', x, BUFFER_USAGE.STORAGE);
    const yBuf = memory.create('y', tokens * rows * 4, BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    ops.matvec(pass, { buffer: wBuf, byteOffset: offset * 2, rows, cols, name: 'w' }, xBuf, yBuf, tokens);
    pass.end();
    device.queue.submit([enc.finish()]);
    return await readF32(device, memory, yBuf);
  } finally {
    memory.destroyAll();
  }
}

/**
 * y = W x on the GPU with W given as planes: its exponent bytes at element `eOffset` of one buffer and
 * its sign_mantissa bytes at element `smOffset` of another, as a DF11 unit decoded to its exponent plane.
 */
async function productPlanes(w: Uint16Array, rows: number, cols: number, x: Float32Array, tokens: number, eOffset: number, smOffset: number): Promise<Float32Array> {
  const gpu = await testGpu();
  const device = gpu.device;
  const memory = new GpuMemory(device, undefined);
  try {
    const ops = await testOps(device, memory, tokens);
    const exponents = new Uint8Array(Math.ceil((eOffset + w.length + 8) / 4) * 4);
    const signMantissa = new Uint8Array(Math.ceil((smOffset + w.length + 8) / 4) * 4);
    w.forEach((v, i) => {
      exponents[eOffset + i] = (v >> 7) & 0xff;
      signMantissa[smOffset + i] = ((v >> 8) & 0x80) | (v & 0x7f);
    });
    const eBuf = memory.createWith('exponents', exponents, BUFFER_USAGE.STORAGE);
    const smBuf = memory.createWith('sign_mantissa', signMantissa, BUFFER_USAGE.STORAGE);
    const xBuf = memory.createWith('x', x, BUFFER_USAGE.STORAGE);
    const yBuf = memory.create('y', tokens * rows * 4, BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    ops.matvec(pass, { buffer: eBuf, byteOffset: eOffset, rows, cols, name: 'w', signMantissa: { buffer: smBuf, byteOffset: smOffset } }, xBuf, yBuf, tokens);
    pass.end();
    device.queue.submit([enc.finish()]);
    return await readF32(device, memory, yBuf);
  } finally {
    memory.destroyAll();
  }
}

describe('rt-matvec load paths', () => {
  it('weights read as an exponent plane beside sign_mantissa give the bits of the BF16 matrix (8-byte and gathered loads, 1 and 2 tokens)', async () => {
    for (const [rows, cols] of [
      [37, 136],
      [5, 100],
    ] as const) {
      const w = syntheticBf16Weights(rows * cols, { seed: rows + 1, std: 0.5 });
      const x = new Float32Array(2 * cols).map((_, i) => Math.cos(i * 0.29) * 2);
      const bf16 = Buffer.from((await product(w, rows, cols, x, 0)).buffer);
      const one = Buffer.from((await product(w, rows, cols, x.subarray(0, cols), 0, undefined, 1)).buffer);
      for (const [eOffset, smOffset] of [
        [0, 0],
        [8, 264],
        [256, 8],
        [1, 6],
        [3, 3],
      ] as const) {
        const planes = Buffer.from((await productPlanes(w, rows, cols, x, 2, eOffset, smOffset)).buffer);
        assert.ok(planes.equals(bf16), `[${rows}, ${cols}] planes at ${eOffset}, ${smOffset}, 2 tokens`);
        const single = Buffer.from((await productPlanes(w, rows, cols, x.subarray(0, cols), 1, eOffset, smOffset)).buffer);
        assert.ok(single.equals(one), `[${rows}, ${cols}] planes at ${eOffset}, ${smOffset}, 1 token`);
      }
    }
  });

  for (const [rows, cols] of [
    [37, 136],
    [5, 100],
    [3, 7],
  ] as const) {
    it(`[${rows}, ${cols}]: 16-byte and gathered loads, and 1, 3 or 4 rows per workgroup, agree at element offsets 0, 1, 3, 8`, async () => {
      const w = syntheticBf16Weights(rows * cols, { seed: rows, std: 0.5 });
      const x = new Float32Array(2 * cols).map((_, i) => Math.sin(i * 0.37) * 2);
      const results = [];
      for (const offset of [0, 1, 3, 8]) results.push(await product(w, rows, cols, x, offset));
      const bytes = results.map((r) => Buffer.from(r.buffer));
      for (let i = 1; i < bytes.length; i++) assert.ok(bytes[i]!.equals(bytes[0]!), `offset ${[0, 1, 3, 8][i]} differs from offset 0`);
      // rows per workgroup change which workgroup sums a row, not the order of its sums
      for (const matvecRows of [1, 3, 4]) {
        const other = Buffer.from((await product(w, rows, cols, x, 0, matvecRows)).buffer);
        assert.ok(other.equals(bytes[0]!), `${matvecRows} row(s) per workgroup differs from the default`);
      }
      for (let t = 0; t < 2; t++) {
        for (let r = 0; r < rows; r++) {
          let s = 0;
          let mag = 0;
          for (let c = 0; c < cols; c++) {
            const p = bf16ToF32(w[r * cols + c]!) * x[t * cols + c]!;
            s += p;
            mag += Math.abs(p);
          }
          assert.ok(Math.abs(s - results[0]![t * rows + r]!) <= 1e-5 * mag + 1e-30, `token ${t} row ${r}: ${results[0]![t * rows + r]} vs ${s}`);
        }
      }
    });
  }

  it('the q/k/v products and the gate/up pair in one dispatch give the bits of separate dispatches, back to back or not', async () => {
    const gpu = await testGpu();
    const device = gpu.device;
    const memory = new GpuMemory(device, undefined);
    try {
      const ops = await testOps(device, memory, 2);
      const cols = 40;
      const shapes = { q: 12, k: 5, v: 5, gate: 9, up: 9 };
      // one buffer, matrices back to back (elements `shift` on), as in a packed layer or a decoded unit
      for (const shift of [0, 1]) {
        let at = shift;
        const offsets: Record<string, number> = {};
        for (const [m, rows] of Object.entries(shapes)) {
          offsets[m] = at;
          at += rows * cols;
        }
        const all = syntheticBf16Weights(at + 8, { seed: 7 + shift, std: 0.5 });
        const wBuf = memory.createWith(`w${shift}`, all, BUFFER_USAGE.STORAGE);
        const ref = (m: keyof typeof shapes) => ({ buffer: wBuf, byteOffset: offsets[m]! * 2, rows: shapes[m], cols, name: m });
        const x = memory.createWith('x', new Float32Array(2 * cols).map((_, i) => Math.cos(i * 0.29) * 2), BUFFER_USAGE.STORAGE);
        const bias = (n: number, seed: number) => new Float32Array(n).map((_, i) => Math.sin(i + seed));
        const bq = bias(12, 1);
        const bk = bias(5, 2);
        const bv = bias(5, 3);
        const biasBufs = {
          q: memory.createWith('bq', bq, BUFFER_USAGE.STORAGE),
          k: memory.createWith('bk', bk, BUFFER_USAGE.STORAGE),
          v: memory.createWith('bv', bv, BUFFER_USAGE.STORAGE),
          qkv: memory.createWith('bqkv', Float32Array.of(...bq, ...bk, ...bv), BUFFER_USAGE.STORAGE),
        };
        const out = (name: string, rows: number) => memory.create(name, 2 * rows * 4, BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC);
        const fused = { q: out('q1', 12), k: out('k1', 5), v: out('v1', 5), g: out('g1', 9) };
        const split = { q: out('q2', 12), k: out('k2', 5), v: out('v2', 5), g: out('g2', 9) };
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        ops.qkv(pass, { q: ref('q'), k: ref('k'), v: ref('v') }, x, fused, 2, biasBufs);
        ops.gateUp(pass, ref('gate'), ref('up'), x, fused.g, 2);
        ops.matvec(pass, ref('q'), x, split.q, 2, { bias: biasBufs.q });
        ops.matvec(pass, ref('k'), x, split.k, 2, { bias: biasBufs.k });
        ops.matvec(pass, ref('v'), x, split.v, 2, { bias: biasBufs.v });
        ops.matvec(pass, ref('gate'), x, split.g, 2);
        ops.matvec(pass, ref('up'), x, split.g, 2, { swiglu: true });
        pass.end();
        device.queue.submit([enc.finish()]);
        for (const key of ['q', 'k', 'v', 'g'] as const) {
          const a = await readF32(device, memory, fused[key]);
          const b = await readF32(device, memory, split[key]);
          assert.ok(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), `${key} (shift ${shift}) differs between one dispatch and separate ones`);
          assert.ok(a.some((v) => v !== 0), `${key} is all zero`);
        }
      }
    } finally {
      memory.destroyAll();
    }
  });
});
