// Codec throughput, one thread, TypeScript next to WebAssembly kernels: histogram and encoder (MB/s of
// BF16 input; encode = histogram + code + tables + stream) and decoders (MB/s of BF16 output: the
// serial TypeScript oracle, the WebAssembly chunk decoder on the whole unit), on synthetic
// normal(0, 0.02) weights rounded to BF16. Each line gives wall MB/s and MB per CPU second.
// Build and run: node scripts/embed-wgsl.mjs && npx tsc -p . --outDir dist-bench && node dist-bench/bench/codec.js [millions]
// Napkin math: 1 GB/s of BF16 input = 500 M symbols/s = 2 ns per weight on one core.
import { decodeUnitInto } from '../src/codec/decode-serial.js';
import { encodeUnit } from '../src/codec/encode.js';
import { exponentHistogram } from '../src/codec/histogram.js';
import { codecWasm } from '../src/codec/wasm/codec-wasm.js';
import { decodePreparedChunksWasm, prepareUnitWasm } from '../src/codec/wasm/decode-wasm.js';
import { exponentHistogramWasm } from '../src/codec/wasm/encode-wasm.js';
import { bestOf, machineLine, rateLine } from './timing.js';
import { syntheticBf16Weights } from '../src/synthetic/weights.js';

const DEFAULT_MILLIONS = 64;
const STD_DEV = 0.02;
const REPEATS = 3;
const MB = 1e6;

async function report(label: string, bytes: number, what: string, run: () => unknown): Promise<void> {
  console.log(`${rateLine(label, bytes, await bestOf(REPEATS, run), 1)} of ${what}`);
}

const millions = Number(process.argv[2] ?? DEFAULT_MILLIONS);
const n = Math.round(millions * 2 ** 20);
console.log(machineLine());
console.log(`input: ${n} BF16 weights ~ normal(0, ${STD_DEV}) (${((2 * n) / MB).toFixed(1)} MB), best of ${REPEATS}`);
const weights = syntheticBf16Weights(n, { seed: 42, std: STD_DEV });
const bf16Bytes = 2 * n;
const wasm = codecWasm();
if (!wasm) throw new Error('WebAssembly is not available');

await report('histogram TS', bf16Bytes, 'BF16 input', () => exponentHistogram(weights));
await report('histogram WASM', bf16Bytes, 'BF16 input', () => exponentHistogramWasm(wasm, [weights], new Float64Array(256)));
let unit = encodeUnit(weights, undefined, { kernel: 'js' });
await report('encode TS', bf16Bytes, 'BF16 input', () => (unit = encodeUnit(weights, undefined, { kernel: 'js' })));
const tsUnit = unit;
await report('encode WASM', bf16Bytes, 'BF16 input', () => (unit = encodeUnit(weights, undefined, { kernel: 'wasm' })));
for (const f of ['luts', 'encodedExponent', 'signMantissa', 'outputPositions', 'gaps'] as const) {
  if (Buffer.compare(Buffer.from(tsUnit[f]), Buffer.from(unit[f])) !== 0) throw new Error(`encoders differ in ${f}`);
}
const out = new Uint16Array(n);
await report('serial decode TS', bf16Bytes, 'BF16 output', () => decodeUnitInto(unit, out));
for (let i = 0; i < n; i++) if (out[i] !== weights[i]) throw new Error(`round trip differs at ${i}`);
out.fill(0);
const prepared = prepareUnitWasm(unit);
await report('chunk decode WASM', bf16Bytes, 'BF16 output', () => decodePreparedChunksWasm(prepared, out, 0, prepared.index.chunks));
for (let i = 0; i < n; i++) if (out[i] !== weights[i]) throw new Error(`WebAssembly round trip differs at ${i}`);
const b = unit.encodedExponent.length;
const total = b + n + unit.gaps.length + unit.outputPositions.length + unit.luts.length;
console.log(
  `unit: B = ${b} (${((8 * b) / n).toFixed(3)} bits/exponent), luts ${unit.luts.length / 256} rows, ` +
    `${((8 * total) / n).toFixed(3)} bits/weight in all; encoders identical, round trips exact`,
);
