// Long decoder fuzzing runs: the properties of test/helpers/decoder-fuzz.ts over many more cases.
//   node scripts/embed-wgsl.mjs && npx tsc -p . --outDir dist-x && node dist-x/bench/fuzz-decoders.js [seed] [count]
// Prints the outcome mix; exits non-zero (with the failing case's seed) on the first violation.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { concat, LLAMA_LAYER_ATTRS, readDemoBf16 } from '../test/codec/helpers.js';
import { fuzzBases, fuzzDecoders } from '../test/helpers/decoder-fuzz.js';
import { sharedDemoModelDir } from '../test/helpers/paths.js';

const seed = Number(process.argv[2] ?? Date.now() % 2 ** 31);
const count = Number(process.argv[3] ?? 1_000_000);
const BATCH = 10_000;

let demoLayer: Uint16Array | undefined;
if (existsSync(join(sharedDemoModelDir(), 'model.safetensors'))) {
  const tensors = readDemoBf16();
  demoLayer = concat(LLAMA_LAYER_ATTRS.map((a) => tensors.get(`model.layers.1.${a}.weight`)!));
}
const bases = fuzzBases(demoLayer);
console.log(`fuzz-decoders: seed ${seed}, ${count} cases, ${bases.length} base units; ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`);
const totals = new Map<string, number>();
let valid = 0;
const t0 = performance.now();
for (let done = 0; done < count; done += BATCH) {
  const n = Math.min(BATCH, count - done);
  const stats = fuzzDecoders(bases, seed + done, n);
  valid += stats.structurallyValid;
  for (const [k, v] of stats.outcomes) totals.set(k, (totals.get(k) ?? 0) + v);
  const s = (performance.now() - t0) / 1000;
  console.log(`${done + n} cases, ${s.toFixed(1)} s (${((done + n) / s).toFixed(0)} cases/s)`);
}
console.log(`passed validateUnit: ${valid}`);
for (const [k, v] of [...totals].sort((a, b) => b[1] - a[1])) console.log(`${String(v).padStart(9)}  ${k}`);
