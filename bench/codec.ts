// Codec throughput: encoder (MB/s of BF16 input) and serial decoder (MB/s of BF16 output) on synthetic
// normal(0, 0.02) weights rounded to BF16, one thread.
// Build and run: node scripts/embed-wgsl.mjs && npx tsc -p . --outDir dist-bench && node dist-bench/bench/codec.js [millions]
// Napkin math: 1 GB/s of BF16 input = 500 M symbols/s = 2 ns per weight on one core.
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { decodeUnitInto } from '../src/codec/decode-serial.js';
import { encodeUnit } from '../src/codec/encode.js';
import { exponentHistogram } from '../src/codec/histogram.js';

const DEFAULT_MILLIONS = 64;
const STD_DEV = 0.02;
const REPEATS = 3;
const MB = 1e6;

/** Mulberry32: a small seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n normal(0, sd) samples rounded to BF16 (round to nearest even), via Box-Muller. */
function syntheticWeights(n: number, sd: number, seed: number): Uint16Array {
  const rand = mulberry32(seed);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const out = new Uint16Array(n);
  const toBf16 = (v: number): number => {
    f32[0] = v;
    const x = u32[0]!;
    return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
  };
  for (let i = 0; i < n; i += 2) {
    const u1 = rand() || Number.MIN_VALUE;
    const u2 = rand();
    const r = sd * Math.sqrt(-2 * Math.log(u1));
    out[i] = toBf16(r * Math.cos(2 * Math.PI * u2));
    if (i + 1 < n) out[i + 1] = toBf16(r * Math.sin(2 * Math.PI * u2));
  }
  return out;
}

/** Best wall-clock and best CPU seconds (user + system) over REPEATS runs. CPU time is the steadier
 * figure on a shared machine: it excludes time the thread spent waiting for a core. */
function best(fn: () => void): { wall: number; cpu: number } {
  let wall = Infinity;
  let cpu = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall = Math.min(wall, (performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6);
  }
  return { wall, cpu };
}

function report(label: string, bytes: number, t: { wall: number; cpu: number }, what: string): void {
  const rate = (s: number) => (bytes / MB / s).toFixed(0).padStart(6);
  console.log(`${label.padEnd(15)} ${rate(t.wall)} MB/s wall, ${rate(t.cpu)} MB/s per CPU second, of ${what}`);
}

const millions = Number(process.argv[2] ?? DEFAULT_MILLIONS);
const n = Math.round(millions * 2 ** 20);
console.log(`cpu: ${cpus()[0]?.model ?? 'unknown'}; node ${process.version}`);
console.log(`input: ${n} BF16 weights ~ normal(0, ${STD_DEV}) (${((2 * n) / MB).toFixed(1)} MB), best of ${REPEATS}`);
const weights = syntheticWeights(n, STD_DEV, 42);
const bf16Bytes = 2 * n;

console.log(`load average (1 min) at start: ${loadavg()[0]!.toFixed(2)} on ${cpus().length} CPUs`);
report('histogram', bf16Bytes, best(() => exponentHistogram(weights)), 'BF16 input');
let unit = encodeUnit(weights);
report('encode', bf16Bytes, best(() => (unit = encodeUnit(weights))), 'BF16 input (histogram + code + tables + stream)');
const out = new Uint16Array(n);
report('serial decode', bf16Bytes, best(() => decodeUnitInto(unit, out)), 'BF16 output');
for (let i = 0; i < n; i++) if (out[i] !== weights[i]) throw new Error(`round trip differs at ${i}`);
const b = unit.encodedExponent.length;
const total = b + n + unit.gaps.length + unit.outputPositions.length + unit.luts.length;
console.log(
  `unit: B = ${b} (${((8 * b) / n).toFixed(3)} bits/exponent), luts ${unit.luts.length / 256} rows, ` +
    `${((8 * total) / n).toFixed(3)} bits/weight in all; round trip exact`,
);
