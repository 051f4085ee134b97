// CPU decode throughput: MB/s of BF16 output for the serial oracle, the chunk decoder on one thread
// (TypeScript and WebAssembly), and the worker pool on all threads (both kernels), on ~64 M seeded
// normal(0, 0.02) weights (one unit). Each line gives MB/s in all, per thread, and per CPU second
// (process.cpuUsage over all threads: the steadier figure on a loaded machine).
//   node scripts/embed-wgsl.mjs && npx tsc -p . --outDir dist-x && node dist-x/bench/decode-cpu.js [elements] [threads,...]
// Also times stripped loops over the same unit to show where a decode's time goes: the code walk alone
// (one code per lookup, bit positions, no output), the output assembly alone (sign/mantissa byte +
// exponent -> BF16 store, no bitstream), and a plain copy of the output.
// Goal: >= 1.66 GB/s per thread. Napkin: at ~3 GHz that is ~3.6 cycles per element; one dependent
// load-shift-lookup chain per code is already ~10 cycles, so one thread needs several codes in flight.
import { availableParallelism } from 'node:os';
import { CHUNK_BYTES } from '../src/codec/constants.js';
import { createChunkScratch, decodePreparedChunks, prepareUnit } from '../src/codec/decode-chunked.js';
import { DecodePool } from '../src/codec/decode-parallel.js';
import { buildFastTable, walkLuts } from '../src/codec/fast-table.js';
import { decodeUnitInto } from '../src/codec/decode-serial.js';
import { encodeUnit } from '../src/codec/encode.js';
import { syntheticBf16Weights } from '../src/synthetic/weights.js';
import { decodePreparedChunksWasm, prepareUnitWasm } from '../src/codec/wasm/decode-wasm.js';
import type { DecodeKernel } from '../src/codec/wasm/chunk-kernel.js';
import { bestOf, machineLine, rateLine } from './timing.js';

const elements = Number(process.argv[2] ?? 64 * 2 ** 20);
/** Thread counts for the pool, e.g. "1,4,16" (default: all). */
const threadCounts = (process.argv[3] ?? String(availableParallelism())).split(',').map(Number);
const REPS = 5;
const BYTES_PER_ELEMENT = 2;

const OUTPUT_BYTES = elements * BYTES_PER_ELEMENT;

async function measure(name: string, usedThreads: number, run: () => unknown): Promise<void> {
  console.log(rateLine(name, OUTPUT_BYTES, await bestOf(REPS, run), usedThreads));
}

function sameBits(a: Uint16Array, b: Uint16Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

console.log(machineLine());
let t = performance.now();
const input = syntheticBf16Weights(elements, { seed: 1 });
const genMs = performance.now() - t;
t = performance.now();
const unit = encodeUnit(input);
const encMs = performance.now() - t;
const chunks = Math.ceil(unit.encodedExponent.length / CHUNK_BYTES);
const bits = (8 * (unit.encodedExponent.length + unit.signMantissa.length + unit.gaps.length + unit.outputPositions.length)) / elements;
console.log(`unit: ${elements} weights, ${chunks} chunks, ${bits.toFixed(3)} bits/weight; generated in ${genMs.toFixed(0)} ms, encoded in ${encMs.toFixed(0)} ms`);

const out = new Uint16Array(elements);
await measure('serial TS (decodeUnitInto)', 1, () => decodeUnitInto(unit, out));
if (!sameBits(out, input)) throw new Error('serial decode is not bit-exact');

const prepared = prepareUnit(unit);
const scratch = createChunkScratch();
out.fill(0);
await measure('chunked TS, 1 thread', 1, () => decodePreparedChunks(prepared, out, 0, chunks, scratch));
if (!sameBits(out, input)) throw new Error('chunked decode is not bit-exact');

const preparedWasm = prepareUnitWasm(unit);
out.fill(0);
await measure('chunked WASM, 1 thread', 1, () => decodePreparedChunksWasm(preparedWasm, out, 0, chunks));
if (!sameBits(out, input)) throw new Error('WebAssembly decode is not bit-exact');

const shared = new Uint16Array(new SharedArrayBuffer(elements * BYTES_PER_ELEMENT));
const sharedUnit = {
  ...unit,
  encodedExponent: toShared(unit.encodedExponent),
  signMantissa: toShared(unit.signMantissa),
};
for (const threads of threadCounts) {
  for (const kernel of ['js', 'wasm'] as DecodeKernel[]) {
    const name = kernel === 'js' ? 'TS' : 'WASM';
    const pool = new DecodePool({ threads, kernel });
    await pool.decodeInto(sharedUnit, shared); // start the workers
    shared.fill(0);
    await measure(`pool ${name} (inputs shared)`, threads, () => pool.decodeInto(sharedUnit, shared));
    if (!sameBits(shared, input)) throw new Error('parallel decode is not bit-exact');
    await measure(`pool ${name} (inputs copied)`, threads, () => pool.decode(unit));
    await pool.close();
  }
}

// Where the time goes: the two halves of the chunk decoder's inner loop, each on its own.
const smBits = new Uint16Array(256);
for (let s = 0; s < 256; s++) smBits[s] = ((s & 0x80) << 8) | (s & 0x7f);
const sm = unit.signMantissa;
await measure('  output assembly only (no stream)', 1, () => {
  for (let i = 0; i < elements; i++) out[i] = smBits[sm[i]!]! | (0x7800 & (i << 7));
});
const words = new Int32Array(Math.ceil(unit.encodedExponent.length / 4) + 2);
const dv = new DataView(unit.encodedExponent.buffer, unit.encodedExponent.byteOffset, unit.encodedExponent.length);
for (let i = 0; i < unit.encodedExponent.length; i++) words[i >>> 2]! |= dv.getUint8(i) << (24 - 8 * (i & 3));
const fast = buildFastTable(prepared.index.luts);
let sink = 0;
await measure('  code walk only (no output)', 1, () => {
  let p = 0;
  let acc = 0;
  for (let i = 0; i < elements; i++) {
    const q = p >>> 5;
    const r = p & 31;
    const x = (words[q]! << r) | ((words[q + 1]! >>> 1) >>> (31 - r));
    let packed = fast[x >>> 20]!;
    if (packed === 0) packed = walkLuts(prepared.index.luts, x);
    acc ^= packed;
    p += packed & 0x7f;
  }
  sink ^= acc;
});
await measure('  memcpy of the output (floor)', 1, () => out.set(input));

if (sink === 0x7fffffff) console.log('');

function toShared(a: Uint8Array): Uint8Array {
  const s = new Uint8Array(new SharedArrayBuffer(a.length));
  s.set(a);
  return s;
}
