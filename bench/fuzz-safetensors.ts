// Long fuzz run of the safetensors header parser (and, every READER_EVERY inputs, the file reader):
// the same seeded mutations as test/format/safetensors-fuzz.test.ts, for as many inputs as asked.
// Every input must either parse into a header that passes an independent check, or throw a Df11Error
// with a container error code. Prints progress, throughput, the error-code mix and the machine.
//
// Build and run (from the repository root):
//   node scripts/embed-wgsl.mjs && npx tsc -p . --outDir dist-bench
//   node dist-bench/bench/fuzz-safetensors.js [seed=1] [count=1000000]
// A failure prints the seed, the input index and the input (base64) so it can be replayed.
import { rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Df11Error } from '../src/errors.js';
import { parseSafetensorsHeader } from '../src/format/safetensors-header.js';
import { SafetensorsReader } from '../src/format/safetensors-reader.js';
import {
  CONTAINER_ERROR_CODES,
  checkAcceptedHeader,
  makeRng,
  mutate,
  mutateFileSize,
  mutateLengthPrefix,
  fuzzBases,
  type FuzzBase,
} from '../test/format/safetensors-mutate.js';

/** One input in this many also goes through a real file and SafetensorsReader. */
const READER_EVERY = 50;
const PROGRESS_EVERY = 100_000;
/** Largest sparse file the reader pass creates (the file system must accept it). */
const MAX_SPARSE_BYTES = 2 ** 34;


function fail(seed: number, i: number, input: Uint8Array, fileSize: number, e: unknown): never {
  console.error(`FAIL seed=${seed} input=${i} fileSize=${fileSize}`);
  console.error(`input (base64): ${Buffer.from(input).toString('base64')}`);
  console.error(e);
  process.exit(1);
}

function isContainerError(e: unknown, file: string): boolean {
  return e instanceof Df11Error && CONTAINER_ERROR_CODES.has(e.code) && e.file === file;
}

async function main(): Promise<void> {
  const seed = Number(process.argv[2] ?? 1);
  const count = Number(process.argv[3] ?? 1_000_000);
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(count) || count < 0) {
    console.error('usage: fuzz-safetensors [seed] [count]');
    process.exit(2);
  }
  console.log(`fuzz-safetensors seed=${seed} count=${count} node ${process.version} ${cpus()[0]?.model ?? '?'} x${cpus().length}`);
  const rng = makeRng(seed);
  const bs = fuzzBases();
  const tmp = mkdtempSync(join(tmpdir(), 'df11-fuzz-bench-'));
  const path = join(tmp, 'fuzz.safetensors');
  const codes = new Map<string, number>();
  let accepted = 0;
  let readerRuns = 0;
  const t0 = performance.now();
  try {
    for (let i = 0; i < count; i++) {
      const base = bs[i % bs.length] as FuzzBase;
      const json = mutate(rng, base.json);
      const fileSize = mutateFileSize(rng, base.fileSize - base.json.length + json.length);
      try {
        checkAcceptedHeader(parseSafetensorsHeader(json, fileSize, 'fuzz'), json, fileSize);
        accepted++;
      } catch (e) {
        if (!isContainerError(e, 'fuzz')) fail(seed, i, json, fileSize, e);
        const c = (e as Df11Error).code;
        codes.set(c, (codes.get(c) ?? 0) + 1);
      }
      if (i % READER_EVERY === 0) {
        readerRuns++;
        const file = Buffer.concat([mutateLengthPrefix(rng, json.length), json]);
        const size = Math.min(fileSize, MAX_SPARSE_BYTES);
        writeFileSync(path, file.subarray(0, Math.min(file.length, size)));
        await truncate(path, size);
        try {
          const r = await SafetensorsReader.open(path);
          try {
            checkAcceptedHeader(r.header, file.subarray(8, r.header.dataStart), size);
            for (const t of r.header.tensors) await r.readRange(t.name, 0, Math.min(16, t.end - t.start));
          } finally {
            await r.close();
          }
        } catch (e) {
          if (!isContainerError(e, path)) fail(seed, i, file, size, e);
        }
      }
      if ((i + 1) % PROGRESS_EVERY === 0) {
        const s = (performance.now() - t0) / 1000;
        console.log(`${i + 1} inputs, ${accepted} accepted, ${((i + 1) / s).toFixed(0)} inputs/s`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`done: ${count} inputs (${readerRuns} through the reader) in ${s.toFixed(1)} s, ${(count / s).toFixed(0)} inputs/s`);
  console.log(`accepted ${accepted}; rejected by code: ${[...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`);
}

await main();
