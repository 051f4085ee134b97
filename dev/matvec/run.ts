// Times matrix-vector kernel variants (batch 1, BF16 weights, f32 x and y) on Llama-3.1-8B shapes and
// prints GB/s of weights read. Every variant's result is compared with the engine's rt-matvec (same
// products, another order of sums: relative difference within f32 rounding, not bit for bit).
// Build and run:  node scripts/embed-wgsl.mjs && npx tsc -p . --outDir dist-gpu
//                 node dist-gpu/dev/matvec/run.js [--shapes gate,down] [--variants engine,mv2-tree-256x2x2]
// A variant name: engine-<WG>x<ROWS> (src/gpu/kernels/rt-matvec.wgsl), or mv2-<tree|sg>-<WG>x<ROWS>x<UNROLL>.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireGpu, describeAdapter } from '../../src/gpu/device.js';
import { timePasses } from '../../src/gpu/gpu-bench.js';
import { rtMatvecWgsl } from '../../src/gpu/kernels/wgsl.generated.js';
import { syntheticBf16Weights } from '../../src/synthetic/weights.js';
import { repoRoot } from '../../test/helpers/paths.js';

const SHAPES: Record<string, [rows: number, cols: number]> = {
  q: [4096, 4096],
  k: [1024, 4096],
  gate: [14336, 4096],
  down: [4096, 14336],
  head: [128256, 4096],
};
const BLOCK = 1 << 22;
const STORAGE = 0x80;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const UNIFORM = 0x40;
const MAP_READ = 0x1;
const FLAG_VEC4 = 4;

const TREE = {
  decl: '',
  args: '',
  body: `for (var r = 0u; r < MAX_ROWS; r++) { if (r < ROWS) { partial[r * WG + lid] = acc[r]; } }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      for (var r = 0u; r < MAX_ROWS; r++) { if (r < ROWS) { partial[r * WG + lid] += partial[r * WG + lid + s]; } }
    }
    workgroupBarrier();
  }`,
};
const SG = {
  decl: '',
  args: ', @builtin(subgroup_invocation_id) sg_lane: u32, @builtin(subgroup_size) sg_size: u32',
  body: `let sg = lid / sg_size;
  for (var r = 0u; r < MAX_ROWS; r++) {
    if (r < ROWS) {
      let s = subgroupAdd(acc[r]);
      if (sg_lane == 0u) { partial[r * WG + sg] = s; }
    }
  }
  workgroupBarrier();
  if (lid < ROWS) {
    var v = 0.0;
    for (var i = 0u; i < WG / sg_size; i++) { v += partial[lid * WG + i]; }
    partial[lid * WG] = v;
  }`,
};

interface Built {
  name: string;
  code: string;
  constants: Record<string, number>;
  rows: number;
}

function build(name: string): Built {
  const p = name.split('-');
  if (p[0] === 'engine') {
    const [wg, rows] = p[1]!.split('x').map(Number) as [number, number];
    return { name, code: rtMatvecWgsl, constants: { WG: wg, ROWS: rows }, rows };
  }
  if (p[0] === 'mv2') {
    const red = p[1] === 'sg' ? SG : TREE;
    const [wg, rows, unroll] = p[2]!.split('x').map(Number) as [number, number, number];
    let code = readFileSync(join(repoRoot(), 'dev/matvec/mv2.wgsl'), 'utf8');
    code = code.replace('//REDUCE_DECL', red.decl).replace('/*SG_ARGS*/', red.args).replace('//REDUCE_BODY', red.body);
    if (red === SG) code = `enable subgroups;\n${code}`;
    return { name, code, constants: { WG: wg, ROWS: rows, UNROLL: unroll }, rows };
  }
  throw new Error(`unknown variant ${name}`);
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const shapes = arg('shapes', 'q,k,gate,down,head').split(',');
  const variants = arg('variants', 'engine-64x4,mv2-tree-256x2x2,mv2-sg-256x2x2').split(',').map(build);
  const iterations = Number(arg('iterations', '20'));
  const gpu = await acquireGpu();
  const device = gpu.device;
  console.log(`adapter: ${describeAdapter(gpu.adapter)}`);
  const maxElems = Math.max(...shapes.map((s) => SHAPES[s]![0] * SHAPES[s]![1]));
  const maxCols = Math.max(...shapes.map((s) => SHAPES[s]![1]));
  const maxRows = Math.max(...shapes.map((s) => SHAPES[s]![0]));
  const block = syntheticBf16Weights(BLOCK, { seed: 3 });
  const wBuf = device.createBuffer({ size: maxElems * 2, usage: STORAGE | COPY_DST });
  for (let at = 0; at < maxElems; at += BLOCK) device.queue.writeBuffer(wBuf, at * 2, block, 0, Math.min(BLOCK, maxElems - at));
  const x = new Float32Array(maxCols).map((_, i) => Math.sin(i * 0.37));
  const xBuf = device.createBuffer({ size: x.byteLength, usage: STORAGE | COPY_DST });
  device.queue.writeBuffer(xBuf, 0, x);
  const yBuf = device.createBuffer({ size: maxRows * 4, usage: STORAGE | COPY_SRC });
  const read = device.createBuffer({ size: maxRows * 4, usage: MAP_READ | COPY_DST });
  const step = device.createBuffer({ size: 16, usage: UNIFORM | COPY_DST });
  device.queue.writeBuffer(step, 0, new Uint32Array([1, 0, 1, 0]));
  const dummy = device.createBuffer({ size: 16, usage: STORAGE });
  const spare = [device.createBuffer({ size: 16, usage: STORAGE }), device.createBuffer({ size: 16, usage: STORAGE })];
  const layout = device.createBindGroupLayout({
    // the engine kernel's 10 bindings (mv2 uses the first 8)
    entries: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((binding) => ({
      binding,
      visibility: 0x4,
      buffer: { type: binding < 2 ? ('uniform' as const) : binding === 4 || binding >= 8 ? ('storage' as const) : ('read-only-storage' as const) },
    })),
  });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  for (const s of shapes) {
    const [rows, cols] = SHAPES[s]!;
    const bytes = rows * cols * 2;
    let reference: Float32Array | undefined;
    for (const v of variants) {
      const pipeline = device.createComputePipeline({ layout: pipelineLayout, compute: { module: device.createShaderModule({ code: v.code }), entryPoint: 'main', constants: v.constants } });
      const groups = Math.ceil(rows / v.rows);
      const gridX = Math.min(groups, 65535);
      const params = device.createBuffer({ size: 32, usage: UNIFORM | COPY_DST });
      device.queue.writeBuffer(params, 0, new Uint32Array([rows, cols, 0, FLAG_VEC4, gridX, 0, rows, rows]));
      const bind = device.createBindGroup({
        layout,
        entries: [params, step, { buffer: wBuf, size: bytes }, xBuf, yBuf, dummy, { buffer: wBuf, size: bytes }, xBuf, spare[0]!, spare[1]!].map((b, binding) => ({
          binding,
          resource: 'buffer' in b ? b : { buffer: b },
        })),
      });
      const record = (pass: GPUComputePassEncoder) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bind);
        pass.dispatchWorkgroups(gridX, Math.ceil(groups / gridX), 1);
      };
      const t = await timePasses(device, record, iterations, 5);
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(yBuf, 0, read, 0, rows * 4);
      device.queue.submit([enc.finish()]);
      await read.mapAsync(MAP_READ);
      const y = new Float32Array(read.getMappedRange(0, rows * 4).slice(0));
      read.unmap();
      let worst = 0;
      if (reference === undefined) reference = y;
      else for (let r = 0; r < rows; r++) worst = Math.max(worst, Math.abs(y[r]! - reference[r]!) / Math.max(1e-3, Math.abs(reference[r]!)));
      console.log(`${s} ${rows}x${cols} ${v.name}: ${(t.ms * 1000).toFixed(1)} us, ${(bytes / t.ms / 1e6).toFixed(0)} GB/s, max rel diff to first ${worst.toExponential(2)}`);
      params.destroy();
    }
  }
  gpu.destroy();
}

await main();
