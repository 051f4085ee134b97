// Occupancy probe: how many 256-invocation workgroups run at once per multiprocessor as a function of
// the workgroup memory they declare. Each invocation walks a chain of dependent workgroup-memory loads
// (latency bound), so time ~ waves x chain latency; waves = workgroups / (SMs x resident per SM).
// Build and run: npx tsc -p . --outDir dist-gpu && node dist-gpu/dev/kernels/probe-occupancy.js
import { acquireGpu, describeAdapter } from '../../src/gpu/device.js';
import { timePasses } from '../../src/gpu/gpu-bench.js';

const PROBE_WGSL = `
override LDS_WORDS: u32 = 256u;
override ITERS: u32 = 2048u;
var<workgroup> pad: array<u32, LDS_WORDS>;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  for (var i = lid; i < LDS_WORDS; i += 256u) { pad[i] = (i * 2654435761u) >> 24u; }
  workgroupBarrier();
  var x = lid & 255u;
  for (var i = 0u; i < ITERS; i++) { x = pad[(x + i) & 255u]; }
  out[wg.x * 256u + lid] = x;
}
`;

const STORAGE = 0x80;

async function main(): Promise<void> {
  const ctx = await acquireGpu();
  const { device } = ctx;
  console.log(`adapter: ${describeAdapter(ctx.adapter)}`);
  const groups = Number(process.argv[2] ?? 132 * 16);
  const out = device.createBuffer({ size: groups * 256 * 4, usage: STORAGE });
  const module = device.createShaderModule({ code: PROBE_WGSL });
  const rows: string[] = [];
  for (const kb of [1, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48]) {
    const words = (kb * 1024) / 4;
    if (kb * 1024 > device.limits.maxComputeWorkgroupStorageSize) continue;
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main', constants: { LDS_WORDS: words } } });
    const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] });
    const t = await timePasses(device, (pass) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(groups);
    }, 5);
    rows.push(`${String(kb).padStart(3)} KB  ${t.ms.toFixed(3).padStart(8)} ms`);
  }
  console.log(`${groups} workgroups of 256, dependent LDS chain:`);
  for (const r of rows) console.log(r);
  ctx.destroy();
}

await main();
