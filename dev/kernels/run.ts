// Runs every decode kernel variant of this folder on the same units: checks each bit for bit against
// the original weights (which the CPU oracle reproduces: verified on the first unit) and prints
// BF16-output GB/s. Variants share decode.wgsl's bindings (src/gpu/kernels/decode.wgsl).
// Build and run:  node scripts/embed-wgsl.mjs && npx tsc -p . --outDir dist-gpu
//                 node dist-gpu/dev/kernels/run.js [--units layer] [--variants v1,v2] [--workgroup-bytes 32768,16384]
// On a machine without a GPU: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json, --units tiny.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { GpuDecoder } from '../../src/gpu/decoder.js';
import type { DecodeKernelSource } from '../../src/gpu/decode-program.js';
import { acquireGpu, describeAdapter } from '../../src/gpu/device.js';
import { timePasses } from '../../bench/gpu-timing.js';
import { llamaUnits } from '../../bench/gpu-units.js';
import { repoRoot } from '../../test/helpers/paths.js';

/** Workgroup bytes each variant uses besides its stage. */
export const VARIANTS: Record<string, { fixedWorkgroupBytes: number; usesSubgroups: boolean; persistent?: boolean; note: string }> = {
  v1: { fixedWorkgroupBytes: 18 * 256 + 256 * 4, usesSubgroups: false, note: 'two passes, nested loops, Hillis-Steele scan' },
  v2: { fixedWorkgroupBytes: 18 * 256 + 256 * 4 + 64 * 4, usesSubgroups: true, note: 'flat loops, combined root table, subgroup scan' },
  v3: { fixedWorkgroupBytes: 18 * 256 + 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v2 + 10-bit multi-symbol table' },
  v5: { fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v3 + two lockstep chains per invocation, raw LUT rows in global memory' },
  v6: { fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, persistent: true, note: 'v5, persistent workgroups, next chunk prefetched' },
  v7: { fixedWorkgroupBytes: 64 * 4, usesSubgroups: true, note: 'v5 with the decode tables read through L1 (stage only in workgroup memory)' },
  v8: { fixedWorkgroupBytes: 18 * 256 + 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v3 with all global loads first and the host-built root table' },
  v5l1: { fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v5 phase probe: no output stores' },
  v5l2: { fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v5 phase probe: no pass 2' },
  v5l3: { fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v5 phase probe: no pass 1, no pass 2' },
  v5l4: { fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v5 phase probe: setup only' },
  v4: { fixedWorkgroupBytes: 0, usesSubgroups: true, note: 'no stage: direct writes, ~7 KB of tables' },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const STORAGE = 0x80;

async function main(): Promise<void> {
  const names = arg('units', 'layer').split(',');
  const variants = arg('variants', Object.keys(VARIANTS).join(',')).split(',');
  const budgets = arg('workgroup-bytes', '32768').split(',').map(Number);
  const iterations = Number(arg('iterations', '10'));
  const dawn = arg('dawn', '');
  const ctx = await acquireGpu({ dawnOptions: dawn ? [dawn] : [] });
  const { device } = ctx;
  console.log(`adapter: ${describeAdapter(ctx.adapter)}${dawn ? `; dawn: ${dawn}` : ''}`);
  const units = await llamaUnits(names);
  const first = units[0]!;
  const oracle = decodeUnit(first.unit);
  if (oracle.some((v, i) => v !== first.weights[i])) throw new Error('the oracle does not reproduce the weights');
  const rows: string[] = [];
  for (const v of variants) {
    const spec = VARIANTS[v];
    if (!spec) throw new Error(`unknown variant ${v}`);
    if (spec.usesSubgroups && !ctx.features.has('subgroups')) {
      rows.push(`${v.padEnd(4)} (needs subgroups)`);
      continue;
    }
    const kernel: DecodeKernelSource = {
      name: v,
      code: readFileSync(join(repoRoot(), 'dev', 'kernels', `decode-${v}.wgsl`), 'utf8'),
      fixedWorkgroupBytes: spec.fixedWorkgroupBytes,
      usesSubgroups: spec.usesSubgroups,
      ...(spec.persistent ? { persistentWorkgroups: Number(arg('persistent', '1024')) } : {}),
    };
    for (const budget of budgets) {
      const decoder = await GpuDecoder.create(device, { kernel, workgroupStorageBytes: budget });
      for (const { name, weights, unit } of units) {
        const g = decoder.upload(unit, { tensor: name });
        let verdict = 'exact';
        try {
          const got = await decoder.decode(g);
          const bad = got.findIndex((x, i) => x !== weights[i]);
          if (bad >= 0) verdict = `WRONG at ${bad}`;
        } catch (e) {
          verdict = `ERROR ${(e as Error).message.slice(0, 60)}`;
        }
        const out = device.createBuffer({ size: Math.ceil((2 * weights.length) / 4) * 4, usage: STORAGE });
        const t = await timePasses(device, (pass) => decoder.decodeInPass(pass, g, out), iterations);
        await decoder.checkErrors().catch(() => undefined);
        out.destroy();
        decoder.release(g);
        const gbs = (2 * weights.length) / t.ms / 1e6;
        rows.push(`${v.padEnd(4)} ${String(budget).padStart(6)} ${String(decoder.stageWords).padStart(6)} ${name.padEnd(6)} ${t.ms.toFixed(3).padStart(8)} ${gbs.toFixed(0).padStart(6)} ${t.hostCpu.toFixed(2).padStart(5)}  ${verdict}`);
        console.log(rows[rows.length - 1]);
      }
      decoder.destroy();
    }
  }
  console.log("\nvar  wgByte  stage unit     ms/dec   GB/s   cpu  check");
  for (const r of rows) console.log(r);
  ctx.destroy();
}

await main();
