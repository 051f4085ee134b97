// Writes the units of `df11 bench decode` (src/cli/bench-decode.ts: same weights, same encoder, so
// the same bytes) as raw files, so that another implementation (the reference CUDA kernel,
// bench/reference/decode_reference.py) decodes exactly the bytes our decoder is timed on. One folder per unit: the five DF11 arrays as
// stored (`luts.bin`, `encoded_exponent.bin`, `sign_mantissa.bin`, `output_positions.bin`, `gaps.bin`)
// and the original BF16 weights (`weights.bf16`, little-endian) to check the output against.
// Build and run:  npx tsc -p . --outDir dist-gpu && node dist-gpu/bench/dump-units.js --units layer,attn [--seed 1] --out /tmp/units
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { EncodePool } from '../src/codec/encode-parallel.js';
import { decodeBenchWeights } from '../src/cli/bench-decode.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const names = arg('units', 'layer,attn').split(',');
const outDir = arg('out', 'units');
const seed = Number(arg('seed', '1'));
const pool = EncodePool.create(availableParallelism());
for (const name of names) {
  const { weights, sizes } = decodeBenchWeights(name, seed);
  const { unit } = await pool.encode(weights.slice(), sizes, { checksum: false, name });
  const dir = join(outDir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'luts.bin'), unit.luts);
  writeFileSync(join(dir, 'encoded_exponent.bin'), unit.encodedExponent);
  writeFileSync(join(dir, 'sign_mantissa.bin'), unit.signMantissa);
  writeFileSync(join(dir, 'output_positions.bin'), unit.outputPositions);
  writeFileSync(join(dir, 'gaps.bin'), unit.gaps);
  writeFileSync(join(dir, 'weights.bf16'), new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
  console.log(`${name}: ${weights.length} weights, ${unit.encodedExponent.length} stream bytes -> ${dir}`);
}
await pool.close();
