// Seeded fuzzing of the header parser and the reader: mutated real headers (bit flips, truncations,
// insertions, copied ranges, edited numbers and dtypes) must either parse into a header that an
// independent check (JSON.parse + BigInt) accepts, or throw a Df11Error with a container code.
// Anything else (another exception type, a hang) fails. bench/fuzz-safetensors.ts runs the same
// mutations for millions of inputs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Df11Error } from '../../src/errors.js';
import { parseSafetensorsHeader } from '../../src/format/safetensors-header.js';
import { parseSafetensorsIndex } from '../../src/format/safetensors-index.js';
import { SafetensorsReader } from '../../src/format/safetensors-reader.js';
import {
  CONTAINER_ERROR_CODES,
  checkAcceptedHeader,
  makeRng,
  mutate,
  mutateFileSize,
  mutateLengthPrefix,
  randInt,
  fuzzBases,
  type FuzzBase,
} from './safetensors-mutate.js';

const SEED = 0x5afe7e45;
const HEADER_INPUTS = 10_000;
const READER_INPUTS = 300;
const INDEX_INPUTS = 2_000;
/** Well above the expected ~3 s, so only a hang trips it. */
const FUZZ_TIMEOUT_MS = 60_000;

const tmp = mkdtempSync(join(tmpdir(), 'df11-fuzz-'));
after(() => rmSync(tmp, { recursive: true, force: true }));


/** Rethrows anything that is not a container Df11Error naming `file`. */
function expectContainerError(e: unknown, file: string, input: () => string): void {
  if (e instanceof Df11Error && CONTAINER_ERROR_CODES.has(e.code) && e.file === file) return;
  assert.fail(`unexpected ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} for input ${input()}`);
}

test(`parseSafetensorsHeader: ${HEADER_INPUTS} mutated headers parse validly or throw Df11Error`, { timeout: FUZZ_TIMEOUT_MS }, () => {
  const rng = makeRng(SEED);
  const bs = fuzzBases();
  let accepted = 0;
  const codes = new Map<string, number>();
  for (let i = 0; i < HEADER_INPUTS; i++) {
    const base = bs[i % bs.length] as FuzzBase;
    const json = mutate(rng, base.json);
    // keep the data section as large as before, so header edits are what is judged
    const fileSize = mutateFileSize(rng, base.fileSize - base.json.length + json.length);
    try {
      const h = parseSafetensorsHeader(json, fileSize, 'fuzz');
      checkAcceptedHeader(h, json, fileSize);
      accepted++;
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      expectContainerError(e, 'fuzz', () => `#${i} ${Buffer.from(json).toString('latin1').slice(0, 200)} size ${fileSize}`);
      codes.set((e as Df11Error).code, (codes.get((e as Df11Error).code) ?? 0) + 1);
    }
  }
  // the mutations must reach deep checks, not only JSON syntax errors
  for (const c of ['header-invalid-json', 'header-invalid', 'dtype-unknown', 'shape-size-mismatch', 'offsets-invalid', 'duplicate-tensor', 'truncated-file']) {
    assert.ok((codes.get(c) ?? 0) > 0, `no input reached ${c}: ${JSON.stringify([...codes])}`);
  }
  assert.ok(accepted > 0, 'some mutated headers are still valid');
});

test(`SafetensorsReader: ${READER_INPUTS} mutated files open validly or throw Df11Error`, { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const rng = makeRng(SEED ^ 0x1234);
  const bs = fuzzBases();
  const path = join(tmp, 'fuzz.safetensors');
  let opened = 0;
  for (let i = 0; i < READER_INPUTS; i++) {
    const base = bs[i % bs.length] as FuzzBase;
    let file: Uint8Array;
    if (rng() < 0.5) {
      const json = mutate(rng, base.json);
      file = Buffer.concat([mutateLengthPrefix(rng, json.length), json]);
    } else {
      const whole = Buffer.concat([mutateLengthPrefix(rng, base.json.length), base.json]);
      file = mutate(rng, whole);
    }
    // sparse data section; sizes capped so the file system accepts them
    const size = Math.min(mutateFileSize(rng, base.fileSize - base.json.length - 8 + file.length), 2 ** 34);
    writeFileSync(path, file.subarray(0, Math.min(file.length, size)));
    await truncate(path, size);
    let r: SafetensorsReader | undefined;
    try {
      r = await SafetensorsReader.open(path);
    } catch (e) {
      expectContainerError(e, path, () => `#${i} ${Buffer.from(file).toString('latin1').slice(0, 200)} size ${size}`);
      continue;
    }
    opened++;
    try {
      const n = r.header.dataStart - 8;
      checkAcceptedHeader(r.header, file.subarray(8, 8 + n), size);
      for (const t of r.header.tensors) {
        const len = Math.min(16, t.end - t.start);
        assert.equal((await r.readRange(t.name, t.end - t.start - len, len)).length, len);
        const size = t.end - t.start;
        if (size > 1 << 16) continue; // sparse and possibly huge: the range read above suffices
        let total = 0;
        for await (const c of r.stream(t.name, 1 + randInt(rng, Math.max(1, size)))) total += c.length;
        assert.equal(total, size);
      }
    } finally {
      await r.close();
    }
  }
  assert.ok(opened > 0);
});

test(`parseSafetensorsIndex: ${INDEX_INPUTS} mutated indexes parse or throw Df11Error`, { timeout: FUZZ_TIMEOUT_MS }, () => {
  const rng = makeRng(SEED ^ 0x77);
  const base = new TextEncoder().encode(
    JSON.stringify({ metadata: { total_size: 520064 }, weight_map: { 'model.norm.weight': 'model-00001-of-00002.safetensors', 'lm_head.weight': 'model-00002-of-00002.safetensors' } }),
  );
  for (let i = 0; i < INDEX_INPUTS; i++) {
    const bytes = mutate(rng, base);
    try {
      const idx = parseSafetensorsIndex(bytes, 'index');
      assert.ok(idx.weightMap.every(([, f]) => !f.includes('/') && f !== '..'));
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      expectContainerError(e, 'index', () => Buffer.from(bytes).toString('latin1'));
    }
  }
});
