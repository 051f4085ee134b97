// The engine against Hugging Face transformers on tiny random models that transformers itself made
// and saved (test/fixtures/transformers/, written by bench/reference/make_tiny_models.py): Llama 2,
// Llama 3.1 rope scaling, Mistral, Qwen2 (q/k/v bias), Qwen3 (q/k norms, head_dim != hidden/heads).
// transformers ran each in float32 from the same BF16 weights the engine reads, so the only
// difference left is the order of f32 sums (its CPU matmuls vs our workgroup reductions): logits
// must agree to RELATIVE_TOLERANCE of the largest |logit|, and the greedy tokens must be the same.
// Each prompt is prefilled in one pass, then the reference's greedy tokens are fed one at a time
// (teacher forcing): equal argmax at every step is the same as an equal free-running greedy
// sequence, and one near-tie cannot shift every later comparison. The longest prompt is also fed
// token by token so that every prompt position is compared too. df11 mode (the fixture compressed
// with the compress command's library function) must give the bf16 logits byte for byte (on the
// longest prompt and its first DF11_STEPS greedy steps: SwiftShader decodes slowly).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compressModel } from '../../src/cli/compress-model.js';
import { openInputModel } from '../../src/cli/model-input.js';
import { selectPatternDict } from '../../src/format/pattern-dicts.js';
import { InferenceEngine, type EngineOptions } from '../../src/runtime/engine.js';
import { openModelDir } from '../../src/runtime/node/open-model.js';
import { fixturePath } from '../helpers/paths.js';
import { f32Bytes, testGpu } from './runtime-helpers.js';

/**
 * Largest |engine - transformers| allowed, relative to the largest |logit| of the sequence. Both
 * compute in f32 from identical weights; the sums differ in order only (f32 rounding, ~1e-7
 * relative per add, over 64..172-term dot products and two layers), which stays far below this.
 * A real error is far above it: the manifest's `sensitivity` shows that dropping the rope scaling,
 * doubling theta, the biases or the q/k norms moves these logits by 0.9 to 6 (of ~5).
 */
const RELATIVE_TOLERANCE = 1e-4;

interface PromptEntry {
  prompt: number[];
  greedy: number[];
  greedy_gaps: number[];
  logits_file: string;
  logits_shape: [number, number];
}

interface ModelEntry {
  name: string;
  what: string;
  prompts: PromptEntry[];
}

interface Manifest {
  versions: Record<string, string>;
  models: ModelEntry[];
}

/**
 * Greedy steps after the longest prompt compared between df11 and bf16: df11 decodes every layer in
 * every pass, ~0.1-0.2 s on SwiftShader (the byte equality of the modes is tested at length elsewhere;
 * here it is checked on files transformers wrote: tied and untied heads, biases, q/k norms).
 */
const DF11_STEPS = 4;

const ROOT = fixturePath('transformers');
const manifest = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8')) as Manifest;

function referenceLogits(model: string, p: PromptEntry): Float32Array {
  const bytes = readFileSync(join(ROOT, model, p.logits_file));
  const [positions, vocab] = p.logits_shape;
  assert.equal(bytes.byteLength, positions * vocab * 4, `${p.logits_file} size`);
  assert.equal(positions, p.prompt.length + p.greedy.length);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** Logits the engine produced for one sequence: position -> row (only the positions it was asked for). */
type Trace = Map<number, Float32Array>;

interface RunResult {
  /** Per prompt. */
  traces: Trace[];
  /** Per prompt: the engine's argmax after the prompt and after each fed greedy token. */
  argmax: number[][];
}

/**
 * Runs the prompts of `m` (all, or only the last, the longest): prefill, then the first `steps`
 * reference greedy tokens one by one; with `all`, the last prompt also token by token from an empty
 * cache, its rows kept under negative keys -1 - position.
 */
async function runModel(dir: string, m: ModelEntry, options: EngineOptions, which: 'all' | 'last', steps: number): Promise<RunResult> {
  const opened = await openModelDir(dir);
  assert.equal(opened.files.kind, options.mode === 'df11' ? 'df11' : 'bf16', `${dir} opened as ${opened.files.kind}`);
  const longest = Math.max(...m.prompts.map((p) => p.prompt.length + p.greedy.length));
  const engine = await InferenceEngine.create(await testGpu(), opened.files, { contextTokens: longest, ...options });
  try {
    const traces: Trace[] = [];
    const argmax: number[][] = [];
    for (const [i, p] of m.prompts.entries()) {
      const trace: Trace = new Map();
      traces.push(trace);
      argmax.push([]);
      if (which === 'last' && i < m.prompts.length - 1) continue;
      const picks = argmax[i]!;
      engine.reset();
      let r = await engine.forward(p.prompt, { logits: true });
      let pos = p.prompt.length - 1;
      for (;;) {
        trace.set(pos, r.logits!);
        picks.push(r.argmax);
        const next = pos + 1 - p.prompt.length;
        if (next >= Math.min(steps, p.greedy.length)) break;
        r = await engine.forward([p.greedy[next]!], { logits: true });
        pos++;
      }
      if (which === 'all' && i === m.prompts.length - 1) {
        engine.reset();
        for (const [at, token] of p.prompt.entries()) trace.set(-1 - at, (await engine.forward([token], { logits: true })).logits!);
      }
    }
    return { traces, argmax };
  } finally {
    engine.destroy();
    await opened.close();
  }
}

/** Compresses the fixture model as the compress command would (its dict choice) into a temp folder. */
async function compressFixture(dir: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'df11-tf-'));
  const out = join(root, 'df11');
  const input = await openInputModel(dir);
  try {
    const choice = selectPatternDict(input.tensors, input.config);
    await compressModel({ input, outDir: out, layout: 'single', patternDict: choice.dict, threads: 1, checksum: false, overwrite: false, castBf16: false });
  } finally {
    await input.model.close();
  }
  return { dir: out, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** The architectures the fixtures must cover. */
const ARCHITECTURES = ['llama2', 'llama3', 'mistral', 'qwen2', 'qwen3'];

describe(`engine vs transformers ${manifest.versions['transformers'] ?? '?'} (f32 reference)`, () => {
  it('covers every architecture', () => {
    assert.deepEqual(manifest.models.map((m) => m.name).sort(), ARCHITECTURES);
  });

  for (const m of manifest.models) {
    it(`${m.name}: ${m.what}`, async () => {
      const dir = join(ROOT, m.name);
      const t0 = performance.now();
      const bf16 = await runModel(dir, m, { mode: 'bf16' }, 'all', Number.POSITIVE_INFINITY);
      const t1 = performance.now();
      let worst = 0;
      let worstAt = '';
      let rows = 0;
      for (const [i, p] of m.prompts.entries()) {
        const ref = referenceLogits(m.name, p);
        const vocab = p.logits_shape[1];
        const scale = ref.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
        assert.ok(scale > 1, `reference logits should not vanish (max ${scale})`);
        for (const [key, got] of bf16.traces[i]!) {
          const pos = key < 0 ? -1 - key : key;
          assert.equal(got.length, vocab);
          const row = ref.subarray(pos * vocab, (pos + 1) * vocab);
          let diff = 0;
          row.forEach((v, j) => (diff = Math.max(diff, Math.abs(v - got[j]!))));
          rows++;
          if (diff / scale > worst) [worst, worstAt] = [diff / scale, `prompt ${i} position ${pos}`];
          assert.ok(diff <= RELATIVE_TOLERANCE * scale, `prompt ${i} position ${pos}: max |difference| ${diff} for logits up to ${scale}`);
        }
        const isLast = i === m.prompts.length - 1;
        assert.equal(bf16.traces[i]!.size, p.greedy.length + 1 + (isLast ? p.prompt.length : 0), `rows of prompt ${i}`);
        const last = bf16.traces[i]!.get(p.prompt.length - 1)!;
        if (isLast) assert.ok(f32Bytes(bf16.traces[i]!.get(-p.prompt.length)!).equals(f32Bytes(last)), 'prefill = token by token');
        const picks = bf16.argmax[i]!;
        p.greedy.forEach((want, step) => {
          assert.equal(picks[step], want, `prompt ${i} greedy step ${step}: engine ${picks[step]}, transformers ${want} (reference gap ${p.greedy_gaps[step]})`);
        });
      }
      process.stderr.write(`# ${m.name}: ${rows} logit rows, worst |difference| / max |logit| = ${worst.toExponential(2)} (${worstAt}); greedy equal\n`);

      const df11 = await compressFixture(dir);
      const t2 = performance.now();
      try {
        const got = await runModel(df11.dir, m, { mode: 'df11' }, 'last', DF11_STEPS);
        const last = m.prompts.length - 1;
        const df11Rows = got.traces[last]!;
        assert.equal(df11Rows.size, DF11_STEPS + 1);
        for (const [key, row] of df11Rows) assert.ok(f32Bytes(row).equals(f32Bytes(bf16.traces[last]!.get(key)!)), `df11 = bf16 (position ${key})`);
        process.stderr.write(`# ${m.name}: bf16 ${(t1 - t0).toFixed(0)} ms, compress ${(t2 - t1).toFixed(0)} ms, df11 ${(performance.now() - t2).toFixed(0)} ms\n`);
      } finally {
        await df11.cleanup();
      }
    });
  }
});
