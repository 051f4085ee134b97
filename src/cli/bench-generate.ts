/**
 * `df11 bench generate`: the inference engine on a synthetic model of a real shape (see
 * src/synthetic/model-files.ts), batch-1 greedy decoding in each mode, with speed, time to first
 * token, peak GPU memory and a bandwidth napkin line.
 *
 * Napkin math (Llama 3.1 8B, batch 1): every decode step reads all 7.5 G layer weights and the
 * 525 M-weight head once, 16.06 GB of BF16 (plus one 8 kB embedding row). At the peak bandwidth of an
 * H200 (4.8 TB/s) that is 3.3 ms, an upper bound of ~300 tok/s; H100 SXM (3.35 TB/s): ~210 tok/s. A
 * matrix-vector kernel reaching ~80-90 % of peak and ~450 dispatches per token (each a few us of
 * launch and barrier) put bf16 at ~150-220 tok/s on an H200. df11 decodes the same 16 GB (plus the
 * 1 GB embedding, decoded whole for one row) every step: at a decoder speed of D GB/s of BF16 output
 * a token costs ~17 GB / D on top of the matrix products. offload streams the 16 GB from host memory
 * every step: PCIe 5.0 x16 (~50 GB/s at best, less through WebGPU's staging copies) gives ~1-3 tok/s.
 */
import { availableParallelism } from 'node:os';
import { EncodePool } from '../codec/encode-parallel.js';
import { unitByteTensorsLength, type Df11Unit } from '../codec/unit.js';
import { Df11Error } from '../errors.js';
import { acquireGpu, describeAdapter, type GpuContext } from '../gpu/device.js';
import { InferenceEngine } from '../runtime/engine.js';
import { generate, type GenerationSummary } from '../runtime/generate.js';
import { parseModelConfig } from '../runtime/model-config.js';
import { summariseTimings, type DispatchTiming } from '../runtime/profile.js';
import type { EngineMode } from '../runtime/weights/weight-provider.js';
import { SyntheticModel, SYNTHETIC_BLOCK_WEIGHTS } from '../synthetic/model-files.js';
import { SYNTHETIC_SHAPES, type SyntheticShapeName } from '../synthetic/model-shapes.js';
import { REALISTIC_WEIGHT_STD } from '../synthetic/weights.js';
import { readCachedUnit, unitCachePath, writeCachedUnit } from './bench-unit-cache.js';
import { knownCardBandwidth } from './card-bandwidth.js';
import type { CliContext } from './command.js';
import { formatBytes } from './progress.js';

const BF16_BYTES = 2;
const MS_PER_S = 1000;
/** Minimum wall time of the warm-up generations of a mode. */
const WARM_UP_MS = 1500;
/** Multiplier spreading the synthetic prompt's ids over the vocabulary (a prime). */
const PROMPT_ID_STRIDE = 7919;

export interface BenchGenerateOptions {
  shape: SyntheticShapeName;
  modes: readonly EngineMode[];
  /** New tokens per mode. */
  tokens: number;
  /** Prompt length (BOS, then ids spread over the vocabulary). */
  promptTokens: number;
  /** Tokens generated once before the timed run (pipelines, bind groups, first-use costs). */
  warmupTokens: number;
  gpuMemoryBytes: number | undefined;
  /** Layer count instead of the shape's. */
  layers: number | undefined;
  seed: number;
  /** Timed generation of one mode stops after this long (tokens so far are reported). */
  modeSeconds: number;
  /** Where encoded units are cached; undefined: no cache. */
  cacheDir: string | undefined;
  /** Rows per matrix-vector workgroup (undefined: the engine's default). */
  matvecRows?: number | undefined;
  /** Time every dispatch of one decode step after the timed run. */
  profile?: boolean;
  /** After the timed run, grow the KV cache as far as the cap allows and report its positions. */
  kvFit?: boolean;
  /** df11: the products read exponent planes (default true) or BF16 decodes. */
  exponentPlanes?: boolean;
}

export interface ModeResult {
  mode: EngineMode;
  loadMs: number;
  summary: GenerationSummary | undefined;
  peakBytes: number;
  weights: string;
  error: string | undefined;
}

/** The synthetic prompt: BOS (or 1), then ids spread over the vocabulary. */
export function syntheticPrompt(length: number, vocab: number, bos: number | undefined): number[] {
  const ids = [bos ?? 1];
  for (let i = 1; i < length; i++) ids.push((i * PROMPT_ID_STRIDE) % vocab);
  return ids;
}

function seconds(ms: number): string {
  return `${(ms / MS_PER_S).toFixed(1)} s`;
}

/** The layer and vocabulary units of `model`, from the cache or encoded in parallel. */
async function modelUnits(model: SyntheticModel, shape: string, cacheDir: string | undefined, ctx: CliContext): Promise<{ layer: Df11Unit; vocab: Df11Unit }> {
  const key = (what: string) => `${shape}-seed${model.seed}-std${model.std}-block${SYNTHETIC_BLOCK_WEIGHTS}-${what}`;
  const paths = cacheDir === undefined ? undefined : { layer: unitCachePath(cacheDir, key('layer')), vocab: unitCachePath(cacheDir, key('vocab')) };
  const cached = paths ? { layer: await readCachedUnit(paths.layer), vocab: await readCachedUnit(paths.vocab) } : { layer: undefined, vocab: undefined };
  if (cached.layer && cached.vocab) {
    ctx.stdout.write(`DF11 units: read from the cache (${cacheDir})\n`);
    return { layer: cached.layer, vocab: cached.vocab };
  }
  const t0 = performance.now();
  const pool = EncodePool.create(Math.max(1, Math.min(2, availableParallelism())));
  try {
    const [layer, vocab] = await Promise.all([
      cached.layer ?? pool.encode(model.layerWeights.slice(), model.layerPieceSizes, { checksum: false, name: 'layer' }).then((r) => r.unit),
      cached.vocab ?? pool.encode(model.vocabWeights.slice(), [model.vocabWeights.length], { checksum: false, name: 'embedding' }).then((r) => r.unit),
    ]);
    ctx.stdout.write(`DF11 units: encoded in ${seconds(performance.now() - t0)}\n`);
    if (paths) {
      if (!cached.layer) await writeCachedUnit(paths.layer, layer);
      if (!cached.vocab) await writeCachedUnit(paths.vocab, vocab);
    }
    return { layer, vocab };
  } finally {
    await pool.close();
  }
}

async function runMode(gpu: GpuContext, model: SyntheticModel, mode: EngineMode, units: { layer: Df11Unit; vocab: Df11Unit } | undefined, o: BenchGenerateOptions, ctx: CliContext): Promise<ModeResult> {
  const files = mode === 'df11' ? model.df11Files(units!.layer, units!.vocab) : model.bf16Files();
  const prompt = syntheticPrompt(o.promptTokens, model.parsed.vocabSize, model.parsed.bosTokenId);
  const t0 = performance.now();
  let engine: InferenceEngine | undefined;
  try {
    engine = await InferenceEngine.create(gpu, files, {
      mode,
      ...(o.gpuMemoryBytes !== undefined ? { gpuMemoryBytes: o.gpuMemoryBytes } : {}),
      contextTokens: Math.min(prompt.length + o.tokens - 1, model.parsed.maxPositions),
      ...(o.matvecRows !== undefined ? { matvecRows: o.matvecRows } : {}),
      ...(o.exponentPlanes !== undefined ? { exponentPlanes: o.exponentPlanes } : {}),
    });
    const loadMs = performance.now() - t0;
    ctx.stdout.write(`${mode}: loaded in ${seconds(loadMs)}; ${engine.describeWeights()}\n`);
    // Warm-up: first-use costs, and the GPU's clocks (on the lent H200s the first ~0.3 s of work after
    // an idle period ran up to 5x slower): repeat the warm-up generation for at least WARM_UP_MS.
    const warm0 = performance.now();
    if (o.warmupTokens > 0) {
      do await generate(engine, prompt, { maxTokens: o.warmupTokens, signal: ctx.signal });
      while (performance.now() - warm0 < WARM_UP_MS && !ctx.signal.aborted);
    }
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(o.modeSeconds * MS_PER_S)]);
    const summary = await generate(engine, prompt, { maxTokens: o.tokens, signal });
    if (ctx.signal.aborted) throw new Df11Error('interrupted', 'benchmark interrupted');
    const rate = summary.decodeTokensPerSecond;
    ctx.stdout.write(
      `${mode}: ${summary.tokens.length} tokens, ${rate.toFixed(2)} tok/s (${(MS_PER_S / rate).toFixed(2)} ms/token), time to first token ${summary.timeToFirstTokenMs.toFixed(1)} ms, ` +
        `peak GPU ${engine.memory.peakBytes} bytes, stop: ${summary.stopReason} (KV cache ${summary.capacity} positions)\n`,
    );
    if (o.profile) await printProfile(engine, prompt, rate, ctx);
    if (o.kvFit) {
      // weights stay where they were placed for the timed run; the cache takes what is left
      engine.reset();
      const reached = engine.reserve(model.parsed.maxPositions);
      ctx.stdout.write(`${mode}: the KV cache grows to ${reached} positions beside the weights (${formatBytes(engine.memory.peakBytes)} allocated at most; model context ${model.parsed.maxPositions})\n`);
    }
    return { mode, loadMs, summary, peakBytes: engine.memory.peakBytes, weights: engine.describeWeights(), error: undefined };
  } catch (e) {
    // one mode's failure (out of memory, a device limit, a decoder error) leaves the others to run
    if (e instanceof Df11Error && e.code === 'interrupted') throw e;
    const what = e instanceof Df11Error ? `${e.code}: ${e.message}` : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    ctx.stdout.write(`${mode}: failed: ${what}\n`);
    return { mode, loadMs: performance.now() - t0, summary: undefined, peakBytes: engine?.memory.peakBytes ?? 0, weights: '', error: what };
  } finally {
    engine?.destroy();
    await gpu.device.queue.onSubmittedWorkDone();
  }
}

/**
 * Times every dispatch of one decode step (the token after the prompt) and prints the GPU time per
 * kernel next to the measured time per token; the difference is the cost of dispatching.
 */
async function printProfile(engine: InferenceEngine, prompt: number[], rate: number, ctx: CliContext): Promise<void> {
  const out = ctx.stdout;
  engine.reset();
  const next = (await engine.forward(prompt)).argmax;
  // twice: the first run pays for the new passes' first use
  await engine.profile([next]);
  engine.rewind(prompt.length);
  const timings = await engine.profile([next]);
  const total = timings.reduce((s, t) => s + t.ns, 0);
  const token = MS_PER_S / rate;
  out.write(`${engine.mode}: profile of one decode step: ${timings.length} dispatches, ${(total / 1e6).toFixed(3)} ms of kernel time (each dispatch in its own pass) against ${token.toFixed(3)} ms per token measured\n`);
  out.write(`  ${pad('kernel (grid)', 34)}${pad('count', 8)}${pad('total us', 12)}${pad('us each', 10)}share\n`);
  for (const k of summariseTimings(timings)) {
    out.write(`  ${pad(k.key, 34)}${pad(String(k.count), 8)}${pad((k.ns / 1e3).toFixed(1), 12)}${pad((k.ns / 1e3 / k.count).toFixed(2), 10)}${((100 * k.ns) / total).toFixed(1)} %\n`);
  }
  const layer = layerDispatches(timings, 1);
  if (layer.length > 0) out.write(`  layer 1 in order (us): ${layer.map((t) => `${t.kernel.replace(/^rt-/, '')} ${(t.ns / 1e3).toFixed(1)}`).join(', ')}\n`);
}

/**
 * The dispatches of decoder layer `l`: a layer holds two RMSNorms (before attention and before the
 * MLP), so it starts at RMSNorm number 2l, preceded by the decodes of its weights, if any.
 */
function layerDispatches(timings: readonly DispatchTiming[], l: number): DispatchTiming[] {
  const norms = timings.flatMap((t, i) => (t.kernel === 'rt-rmsnorm' ? [i] : []));
  const start = (n: number) => {
    let i = norms[n]!;
    while (i > 0 && !timings[i - 1]!.kernel.startsWith('rt-')) i--;
    return i;
  };
  if (norms.length < 2 * l + 3) return [];
  return timings.slice(start(2 * l), start(2 * l + 2));
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Runs the benchmark and prints its report to ctx.stdout. */
export async function benchGenerate(o: BenchGenerateOptions, ctx: CliContext): Promise<ModeResult[]> {
  const base = SYNTHETIC_SHAPES[o.shape];
  const config = o.layers === undefined ? { ...base } : { ...base, num_hidden_layers: o.layers };
  const parsed = parseModelConfig(config, o.shape);
  const out = ctx.stdout;
  out.write(`df11 bench generate: synthetic ${o.shape} (${parsed.layers} layers, hidden ${parsed.hiddenSize}, intermediate ${parsed.intermediateSize}, ${parsed.heads}/${parsed.kvHeads} heads, vocab ${parsed.vocabSize}), seed ${o.seed}\n`);
  const t0 = performance.now();
  const model = new SyntheticModel(config, parsed, o.seed, REALISTIC_WEIGHT_STD);
  out.write(
    `weights: ${(model.weightCount / 1e9).toFixed(2)} G, normal(0, ${REALISTIC_WEIGHT_STD}) rounded to BF16 (a ${SYNTHETIC_BLOCK_WEIGHTS}-weight seeded block, tiled), synthesized in ${seconds(performance.now() - t0)}; ` +
      `every layer serves the SAME host buffer (bf16, offload) or the SAME DF11 unit (df11), and one matrix serves as embedding and head: fine for timing, the text means nothing\n`,
  );
  const units = o.modes.includes('df11') ? await modelUnits(model, o.shape, o.cacheDir, ctx) : undefined;
  // Dawn rounds timestamps to ~65 us by default (a browser's defence against timing attacks), which
  // would hide every kernel of a decode step: the profile asks Node's Dawn for exact ones.
  const gpu = await acquireGpu(o.profile ? { dawnOptions: ['disable-dawn-features=timestamp_quantization'] } : {});
  const results: ModeResult[] = [];
  try {
    const a = gpu.adapter;
    out.write(`adapter: ${describeAdapter(a)}\n`);
    if (a.isSwiftShader) out.write('note: SwiftShader is a CPU emulation of a GPU; its numbers say nothing about GPU speed\n');
    out.write(`prompt ${o.promptTokens} tokens, then ${o.tokens} new tokens, greedy, batch 1 (after ${o.warmupTokens} warm-up tokens; at most ${o.modeSeconds} s per mode)${o.gpuMemoryBytes !== undefined ? `; GPU memory cap ${o.gpuMemoryBytes} bytes` : ''}\n`);
    for (const mode of o.modes) results.push(await runMode(gpu, model, mode, units, o, ctx));
    report(results, model, units, `${a.vendor} ${a.architecture} ${a.device} ${a.description}`, o, ctx);
  } finally {
    gpu.destroy();
  }
  return results;
}

function report(results: ModeResult[], model: SyntheticModel, units: { layer: Df11Unit; vocab: Df11Unit } | undefined, adapterText: string, o: BenchGenerateOptions, ctx: CliContext): void {
  const out = ctx.stdout;
  const c = model.parsed;
  out.write(`\n${pad('mode', 8)}${pad('tok/s', 10)}${pad('ms/token', 10)}${pad('TTFT ms', 10)}${pad('peak GPU', 12)}${pad('tokens', 8)}stop\n`);
  for (const r of results) {
    const s = r.summary;
    if (s === undefined) {
      out.write(`${pad(r.mode, 8)}failed: ${r.error}\n`);
      continue;
    }
    const rate = s.decodeTokensPerSecond;
    const stop = s.stopReason === 'context-full' ? `context-full (KV cache of ${s.capacity} positions ran out after ${s.tokens.length} tokens)` : s.stopReason === 'aborted' ? `time limit (${o.modeSeconds} s)` : s.stopReason;
    out.write(
      `${pad(r.mode, 8)}${pad(Number.isNaN(rate) ? 'n/a' : rate.toFixed(2), 10)}${pad(Number.isNaN(rate) ? 'n/a' : (MS_PER_S / rate).toFixed(2), 10)}${pad(s.timeToFirstTokenMs.toFixed(1), 10)}${pad(formatBytes(r.peakBytes), 12)}${pad(String(s.tokens.length), 8)}${stop}\n`,
    );
  }
  const done = results.filter((r) => r.summary !== undefined && r.summary.tokens.length > 0);
  if (done.length > 1) {
    const n = Math.min(...done.map((r) => r.summary!.tokens.length));
    const same = done.every((r) => r.summary!.tokens.slice(0, n).join() === done[0]!.summary!.tokens.slice(0, n).join());
    out.write(`greedy ids of ${done.map((r) => r.mode).join(', ')} over their first ${n} tokens: ${same ? 'identical' : 'DIFFERENT (the modes should give the same logits bit for bit)'}\n`);
  }
  // bytes of weights one decode step reads
  const bf16Bytes = (c.layers * model.layerWeights.length + model.vocabWeights.length) * BF16_BYTES + c.hiddenSize * BF16_BYTES;
  const card = knownCardBandwidth(adapterText);
  const cardText = card ? `${card.name}: ${(card.bytesPerSecond / 1e12).toFixed(2)} TB/s peak` : 'card bandwidth unknown';
  out.write(`\nnapkin: a decode step reads ${formatBytes(bf16Bytes)} of BF16 weights (every layer + lm_head + one embedding row); ${cardText}\n`);
  for (const r of results) {
    const rate = r.summary?.decodeTokensPerSecond;
    if (rate === undefined || Number.isNaN(rate)) continue;
    const gbs = (bf16Bytes * rate) / 1e9;
    const share = card ? ` = ${((100 * gbs * 1e9) / card.bytesPerSecond).toFixed(0)} % of peak` : '';
    if (r.mode === 'df11' && units) {
      const compressed = c.layers * unitByteTensorsLength(units.layer) + 2 * unitByteTensorsLength(units.vocab);
      // a decode step decodes every layer and the head (the embedding: only the token's row)
      const planes = r.weights.includes('exponent planes');
      const decoded = (c.layers * model.layerWeights.length + model.vocabWeights.length) * (planes ? 1 : BF16_BYTES);
      out.write(
        `  df11: ${formatBytes(bf16Bytes)} x ${rate.toFixed(2)} tok/s = ${gbs.toFixed(1)} GB/s BF16-equivalent${share}; it reads ${formatBytes(compressed)} compressed and writes + reads ${formatBytes(decoded)} of decoded scratch per step (${planes ? 'exponent planes, beside the resident sign_mantissa' : 'BF16'})\n`,
      );
    } else {
      out.write(`  ${r.mode}: ${formatBytes(bf16Bytes)} x ${rate.toFixed(2)} tok/s = ${gbs.toFixed(1)} GB/s effective${share}${r.mode === 'offload' ? ' (from host memory)' : ''}\n`);
    }
  }
}
