// WebGPU DF11 decode throughput on units shaped like Llama-3.1-8B (bench/gpu-units.ts), in GB/s of
// BF16 output, next to a plain WGSL copy of the same number of bytes on the same device.
// Build and run:  node scripts/embed-wgsl.mjs && npx tsc -p . --outDir dist-gpu
//                 node dist-gpu/bench/decode-gpu.js [--units layer,mlp,attn,embed] [--iterations 20]
//                   [--workgroup-bytes 24576] [--dawn enable-dawn-features=...] [--portable-units layer]
//   --portable-units: also time the portable kernel (no subgroups) on these units.
// Napkin math (H100 SXM, ~3.35 TB/s HBM3; a large copy reaches ~2.6-2.9 TB/s read+write): decoding
// reads ~1.36 B/weight (sign_mantissa 1, encoded_exponent ~0.33, gaps 0.026) and writes 2 B/weight,
// so the byte limit is ~2.9 / 3.36 x 2 = ~1.7 TB/s of BF16 output. Reference CUDA kernel: 485 GB/s.
import { availableParallelism, cpus } from 'node:os';
import { GpuDecoder } from '../src/gpu/decoder.js';
import { DECODE_PORTABLE_KERNEL } from '../src/gpu/decode-program.js';
import { acquireGpu, describeAdapter } from '../src/gpu/device.js';
import { createCopy } from '../src/gpu/gpu-bench.js';
import { LLAMA31_8B_UNITS, llamaUnits } from './gpu-units.js';
import { timePasses } from '../src/gpu/gpu-bench.js';

const STORAGE = 0x80;
const COPY_SRC = 0x4;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const names = arg('units', Object.keys(LLAMA31_8B_UNITS).join(',')).split(',');
  const iterations = Number(arg('iterations', '20'));
  const workgroupBytes = Number(arg('workgroup-bytes', '0')) || undefined;
  const dawn = arg('dawn', '');
  const ctx = await acquireGpu({ dawnOptions: dawn ? [dawn] : [] });
  const { device } = ctx;
  console.log(`adapter: ${describeAdapter(ctx.adapter)}`);
  console.log(`host: ${cpus()[0]?.model ?? '?'} x${availableParallelism()}; features: ${[...ctx.features].join(', ') || 'none'}${dawn ? `; dawn: ${dawn}` : ''}`);
  const l = device.limits;
  console.log(`limits: workgroup storage ${l.maxComputeWorkgroupStorageSize}, binding ${l.maxStorageBufferBindingSize}, buffer ${l.maxBufferSize}, invocations ${l.maxComputeInvocationsPerWorkgroup}`);
  const portableUnits = arg('portable-units', '').split(',').filter((u) => u.length > 0);
  const sizing = workgroupBytes ? { workgroupStorageBytes: workgroupBytes } : {};
  const fast = await GpuDecoder.create(device, sizing);
  const portable = portableUnits.length > 0 ? await GpuDecoder.create(device, { ...sizing, kernel: DECODE_PORTABLE_KERNEL }) : undefined;
  console.log(`kernel: ${fast.kernel.name}, stage ${fast.stageWords} words${portable ? `; also ${portable.kernel.name}, stage ${portable.stageWords} words` : ''}`);
  const t0 = performance.now();
  const units = await llamaUnits(names);
  console.log(`generated and encoded ${names.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const rows: string[] = [];
  const runs = units.flatMap((u) => [{ ...u, decoder: fast }, ...(portable && portableUnits.includes(u.name) ? [{ ...u, decoder: portable }] : [])]);
  for (const { name, weights, unit, decoder } of runs) {
    const n = weights.length;
    const g = decoder.upload(unit, { tensor: name });
    const got = await decoder.decode(g);
    let bad = -1;
    for (let i = 0; i < n && bad < 0; i++) if (got[i] !== weights[i]) bad = i;
    if (bad >= 0) throw new Error(`${name}: element ${bad} decodes to 0x${got[bad]!.toString(16)}, expected 0x${weights[bad]!.toString(16)}`);
    const outBytes = Math.ceil((2 * n) / 16) * 16;
    const out = device.createBuffer({ size: outBytes, usage: STORAGE | COPY_SRC });
    const decodeTime = await timePasses(device, (pass) => decoder.decodeInPass(pass, g, out), iterations);
    await decoder.checkErrors();
    const copy = createCopy(device, out, outBytes);
    const copyTime = await timePasses(device, (pass) => copy.record(pass), iterations);
    copy.destroy();
    out.destroy();
    decoder.release(g);
    const compressed = unit.encodedExponent.length + unit.signMantissa.length + unit.gaps.length + unit.outputPositions.length + unit.luts.length;
    const gbs = (2 * n) / decodeTime.ms / 1e6;
    const copyGbs = outBytes / copyTime.ms / 1e6;
    rows.push(
      [
        `${name}${decoder === fast ? '' : '*'}`.padEnd(6),
        `${(n / 1e6).toFixed(1)} M`.padStart(9),
        ((compressed * 8) / n).toFixed(3).padStart(6),
        decodeTime.ms.toFixed(3).padStart(8),
        gbs.toFixed(0).padStart(6),
        `${decodeTime.minMs.toFixed(3)}-${decodeTime.maxMs.toFixed(3)}`.padStart(13),
        copyGbs.toFixed(0).padStart(8),
        (gbs / copyGbs).toFixed(2).padStart(6),
        decodeTime.hostCpu.toFixed(2).padStart(5),
      ].join(' '),
    );
    console.log(`${name}: bit-exact, ${decodeTime.method}, ${gbs.toFixed(0)} GB/s`);
  }
  console.log('\nunit   weights    bits/w  ms/dec   GB/s    min-max ms   copyGB/s  ratio  hostCPU');
  for (const r of rows) console.log(r);
  console.log('(GB/s = BF16 output bytes per second; copy = plain WGSL copy of the same bytes, read+write; * = portable kernel)');
  fast.destroy();
  portable?.destroy();
  ctx.destroy();
}

await main();
