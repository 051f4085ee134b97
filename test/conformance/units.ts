// The valid units every decoder must decode bit-exactly: the demo model's units and seeded synthetic
// units that reach the format's corners (long codes, many LUT rows, streams ending on a byte, window or
// chunk boundary, the rare short output_positions case, a chunk holding only EOF). Each is built once
// per process. `check` states the property a unit was built for, so a change in the encoder that loses
// the corner makes the suite fail instead of silently testing something else.
import { join } from 'node:path';
import { CHUNK_BITS, CHUNK_BYTES } from '../../src/codec/constants.js';
import { encodeUnit, encodeUnitPiecesWithCode } from '../../src/codec/encode.js';
import { buildHuffmanCode, streamBits, type HuffmanCode } from '../../src/codec/huffman-build.js';
import type { Df11Unit } from '../../src/codec/unit.js';
import { concat, LLAMA_LAYER_ATTRS, readDemoBf16 } from '../codec/helpers.js';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { bf16WithExponents, normalBf16, Prng } from '../helpers/prng.js';

export interface ConformanceUnit {
  name: string;
  /** The BF16 input the unit was encoded from. */
  original: Uint16Array;
  unit: Df11Unit;
  /** Throws (an assertion message) when the unit lost the property it was built for. */
  check?: (u: ConformanceUnit) => void;
}

const EXPONENT_VALUES = 256;
const OP_ENTRY_BYTES = 4;

export function chunksOf(unit: Df11Unit): number {
  return Math.ceil(unit.encodedExponent.length / CHUNK_BYTES);
}

function maxCodeLength(unit: Df11Unit): number {
  const lenRow = unit.luts.subarray(unit.luts.length - EXPONENT_VALUES);
  return Math.max(...lenRow);
}

function expect(cond: boolean, what: string): void {
  if (!cond) throw new Error(`conformance unit lost its property: ${what}`);
}

/** The demo model's units (5 layers of 7 attrs, and embed_tokens as a [] unit); undefined without the model. */
let demoCache: ConformanceUnit[] | undefined;
export function demoUnits(): ConformanceUnit[] {
  if (demoCache) return demoCache;
  const tensors = readDemoBf16();
  const units: ConformanceUnit[] = [];
  for (let layer = 0; tensors.has(`model.layers.${layer}.self_attn.q_proj.weight`); layer++) {
    const pieces = LLAMA_LAYER_ATTRS.map((a) => tensors.get(`model.layers.${layer}.${a}.weight`)!);
    const original = concat(pieces);
    units.push({ name: `demo model.layers.${layer}`, original, unit: encodeUnit(original, pieces.map((p) => p.length)) });
  }
  const embed = tensors.get('model.embed_tokens.weight')!;
  units.push({ name: 'demo model.embed_tokens', original: embed, unit: encodeUnit(embed) });
  demoCache = units;
  return units;
}

/** A fixed histogram shape whose most common exponent (127) gets a scanned count (see searchStream). */
const SEARCH_BASE: ReadonlyArray<readonly [exponent: number, count: number]> = [
  [126, 2600],
  [128, 1900],
  [125, 800],
  [129, 300],
  [124, 100],
  [130, 40],
  [123, 9],
  [131, 3],
];
/** The rarest exponent, placed last: its code is the longest. */
const SEARCH_LAST = 122;

/**
 * Scans the count of exponent 127 until the stream length S (known from the histogram before
 * encoding) satisfies `want`, then encodes the exponents in a seeded order with SEARCH_LAST at the end.
 */
function searchStream(name: string, seed: number, want: (s: number, code: HuffmanCode) => boolean, check: ConformanceUnit['check']): ConformanceUnit {
  for (let c = 9000; c < 60000; c++) {
    const hist = new Array<number>(EXPONENT_VALUES).fill(0);
    for (const [e, f] of SEARCH_BASE) hist[e] = f;
    hist[127] = c;
    hist[SEARCH_LAST] = 1;
    const code = buildHuffmanCode(hist);
    const s = streamBits(hist, code);
    if (!want(s, code)) continue;
    const exponents = new Uint8Array(hist.reduce((a, b) => a + b, 0));
    let o = 0;
    for (let e = 0; e < EXPONENT_VALUES; e++) if (e !== SEARCH_LAST) for (let k = 0; k < hist[e]!; k++) exponents[o++] = e;
    new Prng(seed).shuffle(exponents.subarray(0, o));
    exponents[o] = SEARCH_LAST;
    const original = bf16WithExponents(exponents, seed);
    return { name: `${name} (S=${s})`, original, unit: encodeUnit(original), check };
  }
  throw new Error(`no stream length found for ${name}`);
}

/** The last code (SEARCH_LAST's) starts before the chunk holding the stream's last bit (§7's short case if S % 8 = 0). */
function shortCase(s: number, code: HuffmanCode): boolean {
  return Math.floor((s - code.lengths[SEARCH_LAST]!) / CHUNK_BITS) < Math.ceil(s / CHUNK_BITS) - 1;
}

/** Fibonacci counts over `m` consecutive exponents from `first`: the deepest Huffman tree per weight. */
function fibonacciHistogram(first: number, m: number): number[] {
  const hist = new Array<number>(EXPONENT_VALUES).fill(0);
  for (let k = 0, a = 1, b = 1; k < m; k++, [a, b] = [b, a + b]) hist[first + k] = a;
  return hist;
}

/** Exponents drawn from `hist` with probability proportional to `hist[e] ** power` (power < 1 flattens). */
function drawExponents(hist: readonly number[], n: number, power: number, seed: number): Uint8Array {
  const rng = new Prng(seed);
  const present = [...hist.keys()].filter((e) => hist[e]! > 0);
  const weights = present.map((e) => hist[e]! ** power);
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let u = rng.float() * total;
    let k = 0;
    while (k < present.length - 1 && u >= weights[k]!) u -= weights[k++]!;
    out[i] = present[k]!;
  }
  // Every symbol at least once, so every code length of the table occurs.
  present.forEach((e, k) => (out[(k * 7919) % n] = e));
  return out;
}

function withCode(name: string, hist: number[], n: number, power: number, seed: number, check: ConformanceUnit['check']): ConformanceUnit {
  const code = buildHuffmanCode(hist);
  const original = bf16WithExponents(drawExponents(hist, n, power, seed), seed);
  return { name, original, unit: encodeUnitPiecesWithCode([original], code), check };
}

let syntheticCache: ConformanceUnit[] | undefined;
/** The synthetic catalogue (seeded, deterministic). */
export function syntheticUnits(): ConformanceUnit[] {
  if (syntheticCache) return syntheticCache;
  const units: ConformanceUnit[] = [
    { name: 'normal(0,0.02) 200k', original: normalBf16(200_000, 11), unit: undefined as unknown as Df11Unit },
    {
      name: 'normal(0,0.02) 700k, >= 50 chunks',
      original: normalBf16(700_000, 12),
      unit: undefined as unknown as Df11Unit,
      check: (u) => expect(chunksOf(u.unit) >= 50, `${chunksOf(u.unit)} chunks`),
    },
    {
      name: 'skewed: Fibonacci histogram, 25-bit codes (natural)',
      original: (() => {
        const hist = fibonacciHistogram(100, 25);
        const exps = new Uint8Array(hist.reduce((a, b) => a + b, 0));
        let o = 0;
        for (let e = 0; e < EXPONENT_VALUES; e++) for (let k = 0; k < hist[e]!; k++) exps[o++] = e;
        return bf16WithExponents(new Prng(13).shuffle(exps), 13);
      })(),
      unit: undefined as unknown as Df11Unit,
      check: (u) => expect(maxCodeLength(u.unit) === 25, `max code length ${maxCodeLength(u.unit)}`),
    },
    { name: 'one distinct exponent', original: bf16WithExponents(new Uint8Array(10_000).fill(120), 14), unit: undefined as unknown as Df11Unit },
    { name: 'one element', original: bf16WithExponents([121], 15), unit: undefined as unknown as Df11Unit },
    { name: 'two elements', original: bf16WithExponents([121, 3], 16), unit: undefined as unknown as Df11Unit },
  ];
  for (const u of units) if (u.unit === undefined) u.unit = encodeUnit(u.original);
  units.push(
    // Limiter-shaped code (Fibonacci over 33 exponents, 32-bit codes), data drawn flat so long codes abound.
    withCode('skewed: 32-bit codes (length-limited), long codes frequent', fibonacciHistogram(100, 33), 40_000, 0.2, 17, (u) =>
      expect(maxCodeLength(u.unit) === 32, `max code length ${maxCodeLength(u.unit)}`),
    ),
    // 150 exponents with geometric counts: 15 LUT sub-tables, codes up to 22 bits, all rows in use.
    withCode(
      'wide code: 16 LUT rows',
      Array.from({ length: EXPONENT_VALUES }, (_, e) => (e < 150 ? Math.max(1, Math.floor(1e6 * 0.9 ** e)) : 0)),
      60_000,
      0.3,
      18,
      (u) => expect(u.unit.luts.length / 256 === 16, `${u.unit.luts.length / 256} LUT rows`),
    ),
    searchStream('stream ends on a byte boundary (no EOF)', 21, (s, code) => s > CHUNK_BITS && s % 8 === 0 && s % 64 !== 0 && !shortCase(s, code), (u) =>
      expect(u.unit.outputPositions.length === OP_ENTRY_BYTES * (chunksOf(u.unit) + 1), 'op has K+1 entries'),
    ),
    searchStream('stream ends on a window boundary', 22, (s, code) => s > CHUNK_BITS && s % 64 === 0 && s % CHUNK_BITS !== 0 && !shortCase(s, code), undefined),
    searchStream('stream ends on a chunk boundary', 23, (s) => s === 2 * CHUNK_BITS, (u) => expect(u.unit.encodedExponent.length === 2 * CHUNK_BYTES, 'B = 8192')),
    searchStream(
      'rare short case: op has K entries',
      24,
      (s, code) => s % 8 === 0 && shortCase(s, code),
      (u) => expect(u.unit.outputPositions.length === OP_ENTRY_BYTES * chunksOf(u.unit), `op has ${u.unit.outputPositions.length / 4} entries, K = ${chunksOf(u.unit)}`),
    ),
    searchStream(
      'EOF alone starts the last chunk',
      25,
      (s) => s > CHUNK_BITS && s % 8 !== 0 && s % CHUNK_BITS < 8,
      (u) => {
        const k = chunksOf(u.unit);
        const view = new DataView(u.unit.outputPositions.buffer, u.unit.outputPositions.byteOffset);
        expect(view.getUint32(4 * (k - 1), true) === u.original.length, 'op[K-1] = N');
      },
    ),
  );
  syntheticCache = units;
  return units;
}
