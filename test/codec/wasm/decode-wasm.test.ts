// The WebAssembly chunk decoder's own contract, beyond the conformance suite (test/conformance/
// cpu-wasm.test.ts): its tables against the TypeScript ones, chunk ranges in any order and split,
// exactly its own output range per chunk, units of every tile shape (lockstep groups of 8 and 4, single
// chunks), fuzzed input with the same verdict as the TypeScript chunk decoder, and the decode pool
// with either kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHUNK_BYTES } from '../../../src/codec/constants.js';
import { decodeChunksInto } from '../../../src/codec/decode-chunked.js';
import { DecodePool } from '../../../src/codec/decode-parallel.js';
import { decodeUnit } from '../../../src/codec/decode-serial.js';
import { encodeUnit } from '../../../src/codec/encode.js';
import { buildFastTable, decodeLutsOf, walkLuts } from '../../../src/codec/fast-table.js';
import type { Df11Unit } from '../../../src/codec/unit.js';
import { validateLuts } from '../../../src/codec/validate-unit.js';
import { codecWasm } from '../../../src/codec/wasm/codec-wasm.js';
import { decodeChunksWasmInto, decodePreparedChunksWasm, decodeUnitWasm, prepareUnitWasm } from '../../../src/codec/wasm/decode-wasm.js';
import { Df11Error } from '../../../src/errors.js';
import { bf16WithExponents, normalBf16, Prng } from '../../helpers/prng.js';
import { syntheticUnits } from '../../conformance/units.js';

const wasm = codecWasm()!;
const TILE = wasm.layout.DECODE_TILE_CHUNKS;
const original = normalBf16(300_000, 41);
const unit = encodeUnit(original);
const chunks = Math.ceil(unit.encodedExponent.length / CHUNK_BYTES);
const opView = new DataView(unit.outputPositions.buffer, unit.outputPositions.byteOffset);
const op = Array.from({ length: chunks + 1 }, (_, i) => opView.getUint32(4 * i, true));

/** Table entries of the module after decoding `u` (layout of assembly/codec/decode.ts). */
function wasmTables(u: Df11Unit): { single: Uint16Array; exps: BigUint64Array; meta: Uint32Array } {
  decodeChunksWasmInto(u, new Uint16Array(u.signMantissa.length), 0, 1);
  const base = wasm.exports.memory.buffer;
  const tables = wasm.layout.DEC_LUTS + 18 * 256;
  const entries = 4096;
  const exps = new BigUint64Array(base, tables, entries);
  const meta = new Uint32Array(base, tables + 8 * entries, entries);
  const single = new Uint16Array(base, tables + 8 * entries + 4 * (entries + 64) + entries, entries);
  return { single, exps, meta };
}

test('decode tables: single codes as the TypeScript fast table, multi-code entries as successive LUT walks', () => {
  for (const u of [unit, ...syntheticUnits().map((s) => s.unit).slice(0, 6)]) {
    const luts = decodeLutsOf(u.luts, validateLuts(u.luts));
    const fast = buildFastTable(luts);
    const { single, exps, meta } = wasmTables(u);
    for (let v = 0; v < 4096; v++) {
      // fast-table.ts packs (e << 7) | len; the kernel (e << 8) | len.
      const f = fast[v]!;
      assert.equal(single[v], f === 0 ? 0 : ((f >>> 7) << 8) | (f & 0x7f), `single entry ${v}`);
      const m = meta[v]!;
      if (m === 0) continue;
      // Every completion of the 12 index bits decodes the entry's codes the same way.
      const count = m >>> 29;
      for (const tail of [0, 0xfffff, 0x5a5a5]) {
        let x = ((v << 20) | tail) >>> 0;
        let used = 0;
        for (let k = 0; k < count; k++) {
          const packed = walkLuts(luts, x);
          assert.equal(Number((exps[v]! >> BigInt(8 * k)) & 0xffn), packed >>> 7, `entry ${v}, code ${k}: exponent`);
          assert.ok(k === 0 || ((m >>> 6) & (1 << used)) !== 0, `entry ${v}: start of code ${k}`);
          used += packed & 0x7f;
          x = (x << (packed & 0x7f)) >>> 0;
        }
        assert.equal(m & 63, used, `entry ${v}: advance`);
        assert.equal(Number(exps[v]! >> 56n), count, `entry ${v}: count byte`);
      }
    }
  }
});

test('chunk ranges in random order and random splits rebuild the unit', () => {
  assert.ok(chunks >= 2 * TILE + 3);
  const prepared = prepareUnitWasm(unit);
  const rng = new Prng(42);
  const out = new Uint16Array(original.length);
  for (let trial = 0; trial < 6; trial++) {
    const cuts = [0, chunks];
    for (let k = 0; k < 5; k++) cuts.push(rng.int(chunks + 1));
    cuts.sort((a, b) => a - b);
    const ranges = cuts.slice(1).map((end, i) => [cuts[i]!, end] as const);
    rng.shuffle(Uint8Array.from(ranges.keys())).forEach((i) => decodePreparedChunksWasm(prepared, out, ranges[i]![0], ranges[i]![1]));
    assert.deepEqual(out, original);
    out.fill(0);
  }
});

test('each chunk writes exactly out[op[b], op[b+1]) and nothing else', () => {
  const canary = 0xbeef;
  for (let b = 0; b < chunks; b++) {
    const buf = new Uint16Array(original.length).fill(canary);
    decodeChunksWasmInto(unit, buf, b, b + 1);
    for (let i = 0; i < buf.length; i++) {
      const inside = i >= op[b]! && i < op[b + 1]!;
      if (inside) assert.equal(buf[i], original[i], `chunk ${b}, element ${i}`);
      else if (buf[i] !== canary) assert.fail(`chunk ${b} wrote element ${i}, outside [${op[b]}, ${op[b + 1]})`);
    }
  }
});

test('units of 1 to 2 tiles + 5 chunks (lockstep groups of 8 and 4, single chunks) decode exactly', () => {
  // ~12.3 K elements per chunk at ~2.66 bits per exponent.
  for (let k = 1; k <= 2 * TILE + 5; k++) {
    const input = normalBf16(k * 12_000, 100 + k);
    const got = decodeUnitWasm(encodeUnit(input));
    assert.deepEqual(got, input, `${k * 12_000} elements`);
  }
  // Long codes: table misses resolved by the LUT walk inside the lockstep rounds.
  const rng = new Prng(9);
  const geo = Uint8Array.from({ length: 200_000 }, () => {
    let e = 100;
    while (e < 130 && rng.float() < 0.62) e++;
    return e;
  });
  const input = bf16WithExponents(geo, 10);
  assert.deepEqual(decodeUnitWasm(encodeUnit(input)), input);
});

test('bad ranges and short outputs are RangeErrors; a bad unit is a Df11Error', () => {
  const out = new Uint16Array(original.length);
  assert.throws(() => decodeChunksWasmInto(unit, out, 0, chunks + 1), RangeError);
  assert.throws(() => decodeChunksWasmInto(unit, out, 3, 2), RangeError);
  assert.throws(() => decodeChunksWasmInto(unit, out.subarray(1), 0, 1), RangeError);
  assert.throws(() => decodeUnitWasm({ ...unit, gaps: unit.gaps.subarray(1) }), (e: unknown) => e instanceof Df11Error && e.code === 'unit-invalid');
});

test('fuzzed units: the same verdict as the TypeScript chunk decoder, and the oracle\'s data when it returns', () => {
  const bases = [unit, encodeUnit(normalBf16(30_000, 3)), encodeUnit(bf16WithExponents(Uint8Array.from({ length: 9000 }, (_, i) => 100 + ((i * 7919) % 23)), 4))];
  const rng = new Prng(0xd11);
  const codes = new Map<string, number>();
  for (let i = 0; i < 1500; i++) {
    const base = bases[rng.int(bases.length)]!;
    const u: Df11Unit = {
      luts: base.luts.slice(),
      encodedExponent: base.encodedExponent.slice(),
      signMantissa: base.signMantissa.slice(),
      outputPositions: base.outputPositions.slice(),
      gaps: base.gaps.slice(),
      splitPositions: base.splitPositions,
    };
    const fields = ['luts', 'encodedExponent', 'outputPositions', 'gaps'] as const;
    const field = fields[rng.int(fields.length)]!;
    const a = u[field];
    for (let f = 1 + rng.int(3); f > 0; f--) a[rng.int(a.length)]! ^= 1 << rng.int(8);
    if (field === 'luts' && rng.float() < 0.3) a[rng.int(a.length - 256)] = 240 + rng.int(16);
    const verdict = (run: () => Uint16Array): Uint16Array | string => {
      try {
        return run();
      } catch (e) {
        if (e instanceof Df11Error) return e.code;
        throw e;
      }
    };
    const n = u.signMantissa.length;
    const k = Math.ceil(u.encodedExponent.length / CHUNK_BYTES);
    const got = verdict(() => {
      const buf = new Uint16Array(n + 32).fill(0x1234);
      decodeChunksWasmInto(u, buf.subarray(16, 16 + n), 0, k);
      for (let j = 0; j < 16; j++) assert.ok(buf[j] === 0x1234 && buf[16 + n + j] === 0x1234, `case ${i}: wrote outside the output`);
      return buf.slice(16, 16 + n);
    });
    const ts = verdict(() => {
      const out = new Uint16Array(n);
      decodeChunksInto(u, out, 0, k);
      return out;
    });
    assert.equal(typeof got, typeof ts, `case ${i} (${field}): wasm ${typeof got === 'string' ? got : 'decodes'}, TypeScript ${typeof ts === 'string' ? ts : 'decodes'}`);
    if (typeof got !== 'string') assert.deepEqual(got, decodeUnit(u), `case ${i}: data differs from the serial oracle`);
    const key = typeof got === 'string' ? got : 'ok';
    codes.set(key, (codes.get(key) ?? 0) + 1);
  }
  for (const want of ['ok', 'gap-mismatch', 'chunk-count-mismatch']) assert.ok(codes.has(want), `no case ended with ${want}: ${[...codes.keys()].join(' ')}`);
});

test('the decode pool gives the same output with either kernel', async () => {
  const pools = [new DecodePool({ threads: 2, kernel: 'wasm' }), new DecodePool({ threads: 2, kernel: 'js' })];
  try {
    for (const pool of pools) assert.deepEqual(await pool.decode(unit), original, pool.kernel);
    const broken = { ...unit, gaps: unit.gaps.slice() };
    broken.gaps[400]! ^= 0x10;
    for (const pool of pools) await assert.rejects(pool.decode(broken), (e: unknown) => e instanceof Df11Error && e.code === 'gap-mismatch', pool.kernel);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
});
