/**
 * `df11 bench decode`: the WebGPU decoder's speed on DF11 units shaped like Llama-3.1-8B weights, in
 * GB/s of BF16 output, next to a plain WGSL copy of the same bytes on the same device in the same run.
 *
 * Units: normal(0, 0.02) weights rounded to BF16 (a seeded block of SYNTHETIC_BLOCK_WEIGHTS, tiled:
 * about 10.8 bits per weight after compression, as trained LLM weights), encoded by this codec. Each
 * decode is checked bit for bit against the weights before it is timed.
 *
 * Napkin math (H100 SXM, 3.35 TB/s HBM3; a WGSL copy reaches ~2.2-2.8 TB/s of read + write): a decode
 * reads ~1.36 bytes per weight (sign_mantissa 1, encoded_exponent ~0.33, gaps 0.026) and writes 2, so
 * the byte limit is ~2.8 / 3.36 x 2 = ~1.67 TB/s of BF16 output. The reference CUDA kernel reaches
 * 485 GB/s on an H100 for the layer unit (bench/reference/decode_reference.py measures it).
 */
import { availableParallelism } from 'node:os';
import { EncodePool } from '../codec/encode-parallel.js';
import { unitByteTensorsLength, type Df11Unit } from '../codec/unit.js';
import { GpuDecoder } from '../gpu/decoder.js';
import { DECODE_PORTABLE_KERNEL } from '../gpu/decode-program.js';
import { acquireGpu, describeAdapter } from '../gpu/device.js';
import { createCopy, timePasses } from '../gpu/gpu-bench.js';
import { fillSyntheticWeights, SYNTHETIC_BLOCK_WEIGHTS } from '../synthetic/model-files.js';
import { REALISTIC_WEIGHT_STD } from '../synthetic/weights.js';
import { readCachedUnit, unitCachePath, writeCachedUnit } from './bench-unit-cache.js';
import type { CliContext } from './command.js';

/** [rows, cols] of each piece of a unit. */
export const DECODE_BENCH_UNITS: Readonly<Record<string, { what: string; pieces: ReadonlyArray<readonly [number, number]> }>> = {
  layer: {
    what: 'one decoder layer: q, k, v, o, gate, up, down',
    pieces: [[4096, 4096], [1024, 4096], [1024, 4096], [4096, 4096], [14336, 4096], [14336, 4096], [4096, 14336]],
  },
  mlp: { what: 'down_proj 4096 x 14336', pieces: [[4096, 14336]] },
  attn: { what: 'q_proj 4096 x 4096', pieces: [[4096, 4096]] },
  embed: { what: 'embed_tokens 128256 x 4096', pieces: [[128256, 4096]] },
  tiny: { what: '96 x 4096 (for machines without a GPU)', pieces: [[64, 4096], [32, 4096]] },
};
export const DECODE_BENCH_DEFAULT_UNITS = ['layer', 'mlp', 'attn', 'embed'];

export interface BenchDecodeOptions {
  units: readonly string[];
  /** Decodes per timed compute pass. */
  iterations: number;
  seed: number;
  /** Also time the portable kernel (no subgroups). */
  portable: boolean;
  /** Workgroup memory for the kernels (undefined: their defaults). */
  workgroupBytes: number | undefined;
  /** Where encoded units are cached; undefined: no cache. */
  cacheDir: string | undefined;
}

export interface DecodeBenchRow {
  unit: string;
  kernel: string;
  weights: number;
  bitsPerWeight: number;
  ms: number;
  gbPerSecond: number;
  copyGbPerSecond: number;
}

const STORAGE = 0x80;
const COPY_SRC = 0x4;
const BF16_BYTES = 2;
/** The copy moves whole vec4<u32>. */
const COPY_ALIGN = 16;

/** Seed of a unit's weights: fixed per unit name, so a unit's bytes do not depend on the --units list. */
function unitSeed(name: string, seed: number): number {
  return seed * 1000 + Object.keys(DECODE_BENCH_UNITS).indexOf(name);
}

/** The BF16 weights of a benchmark unit and its pieces' sizes. */
export function decodeBenchWeights(name: string, seed: number): { weights: Uint16Array; sizes: number[] } {
  const spec = DECODE_BENCH_UNITS[name];
  if (!spec) throw new RangeError(`unknown unit ${name}; known: ${Object.keys(DECODE_BENCH_UNITS).join(', ')}`);
  const sizes = spec.pieces.map(([r, c]) => r * c);
  const weights = new Uint16Array(sizes.reduce((a, b) => a + b, 0));
  fillSyntheticWeights(weights, unitSeed(name, seed), REALISTIC_WEIGHT_STD);
  return { weights, sizes };
}

/** Runs the benchmark, printing to ctx.stdout; returns the rows. */
export async function benchDecode(o: BenchDecodeOptions, ctx: CliContext): Promise<DecodeBenchRow[]> {
  const out = ctx.stdout;
  for (const u of o.units) if (!DECODE_BENCH_UNITS[u]) throw new RangeError(`unknown unit ${u}; known: ${Object.keys(DECODE_BENCH_UNITS).join(', ')}`);
  out.write(`df11 bench decode: units ${o.units.join(', ')}; normal(0, ${REALISTIC_WEIGHT_STD}) weights rounded to BF16 (a ${SYNTHETIC_BLOCK_WEIGHTS}-weight seeded block, tiled), seed ${o.seed}\n`);
  const gpu = await acquireGpu();
  const rows: DecodeBenchRow[] = [];
  const pool = EncodePool.create(Math.max(1, availableParallelism()));
  try {
    const a = gpu.adapter;
    out.write(`adapter: ${describeAdapter(a)}\n`);
    if (a.isSwiftShader) out.write('note: SwiftShader is a CPU emulation of a GPU; its numbers say nothing about GPU speed\n');
    const sizing = o.workgroupBytes === undefined ? {} : { workgroupStorageBytes: o.workgroupBytes };
    const decoders = [await GpuDecoder.create(gpu.device, sizing)];
    if (o.portable) decoders.push(await GpuDecoder.create(gpu.device, { ...sizing, kernel: DECODE_PORTABLE_KERNEL }));
    for (const d of decoders) out.write(`kernel: ${d.kernelName}${d.indexed ? '' : `, stage of ${d.stageWords} words`}\n`);
    for (const name of o.units) {
      const { weights, sizes } = decodeBenchWeights(name, o.seed);
      const unit = await encodedUnit(name, weights, sizes, o, pool, ctx);
      const outBytes = Math.ceil((BF16_BYTES * weights.length) / COPY_ALIGN) * COPY_ALIGN;
      const target = gpu.device.createBuffer({ label: `bench-${name}`, size: outBytes, usage: STORAGE | COPY_SRC });
      try {
        for (const decoder of decoders) {
          const g = decoder.upload(unit, { tensor: name });
          try {
            const got = await decoder.decode(g);
            const bad = got.findIndex((v, i) => v !== weights[i]);
            if (bad >= 0) throw new Error(`${name} (${decoder.kernelName}): element ${bad} decodes to 0x${got[bad]!.toString(16)}, expected 0x${weights[bad]!.toString(16)}`);
            const t = await timePasses(gpu.device, (pass) => decoder.decodeInPass(pass, g, target), o.iterations);
            await decoder.checkErrors();
            // the copy moves the decoded bytes (real data, never zeros: the timed passes wrote them)
            const copy = createCopy(gpu.device, target, outBytes);
            const c = await timePasses(gpu.device, (pass) => copy.record(pass), o.iterations);
            copy.destroy();
            const row: DecodeBenchRow = {
              unit: name,
              kernel: decoder.unitKernelName,
              weights: weights.length,
              bitsPerWeight: (unitByteTensorsLength(unit) * 8) / weights.length,
              ms: t.ms,
              gbPerSecond: (BF16_BYTES * weights.length) / t.ms / 1e6,
              copyGbPerSecond: outBytes / c.ms / 1e6,
            };
            rows.push(row);
            out.write(`${name} (${decoder.kernelName}): bit-exact; ${rate(row.gbPerSecond)} GB/s (${t.method}, ${t.minMs.toFixed(3)}-${t.maxMs.toFixed(3)} ms)\n`);
          } finally {
            decoder.release(g);
          }
        }
      } finally {
        target.destroy();
      }
    }
    decoders.forEach((d) => d.destroy());
  } finally {
    await pool.close();
    gpu.destroy();
  }
  report(rows, o, ctx);
  return rows;
}

async function encodedUnit(name: string, weights: Uint16Array, sizes: number[], o: BenchDecodeOptions, pool: EncodePool, ctx: CliContext): Promise<Df11Unit> {
  const path = o.cacheDir === undefined ? undefined : unitCachePath(o.cacheDir, `decode-${name}-seed${unitSeed(name, o.seed)}-std${REALISTIC_WEIGHT_STD}-block${SYNTHETIC_BLOCK_WEIGHTS}`);
  const cached = path === undefined ? undefined : await readCachedUnit(path);
  if (cached) return cached;
  const t0 = performance.now();
  const { unit } = await pool.encode(weights.slice(), sizes, { checksum: false, name });
  ctx.stdout.write(`${name}: ${DECODE_BENCH_UNITS[name]!.what}, ${weights.length} weights, encoded in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  if (path !== undefined) await writeCachedUnit(path, unit);
  return unit;
}

/** GB/s with 3 significant digits below 100 (SwiftShader's numbers are small), whole numbers above. */
function rate(gbPerSecond: number): string {
  return gbPerSecond >= 100 ? gbPerSecond.toFixed(0) : gbPerSecond.toPrecision(3);
}

function report(rows: DecodeBenchRow[], o: BenchDecodeOptions, ctx: CliContext): void {
  const out = ctx.stdout;
  out.write(`\n${'unit'.padEnd(6)} ${'kernel'.padEnd(19)} ${'weights'.padStart(9)} ${'bits/w'.padStart(7)} ${'ms/dec'.padStart(8)} ${'GB/s'.padStart(6)} ${'copy GB/s'.padStart(9)} ${'ratio'.padStart(6)}\n`);
  for (const r of rows) {
    out.write(
      `${r.unit.padEnd(6)} ${r.kernel.padEnd(19)} ${`${(r.weights / 1e6).toFixed(1)} M`.padStart(9)} ${r.bitsPerWeight.toFixed(3).padStart(7)} ${r.ms.toFixed(3).padStart(8)} ${rate(r.gbPerSecond).padStart(6)} ${rate(r.copyGbPerSecond).padStart(9)} ${(r.gbPerSecond / r.copyGbPerSecond).toFixed(2).padStart(6)}\n`,
    );
  }
  out.write(`GB/s: BF16 output bytes per second, median of 5 timed passes of at least ${o.iterations} decodes (more where a pass would last under 2 ms) after a warm-up; copy: a plain WGSL copy of the same bytes (it reads and writes them) in the same run.\n`);
}
