// `df11 bench generate`: the inference engine's speed on a synthetic model of a real shape, in each
// mode (see bench-generate.ts); `df11 bench decode`: the WebGPU decoder's speed (bench-decode.ts).
import { resolve } from 'node:path';
import type { EngineMode } from '../runtime/weights/weight-provider.js';
import { SYNTHETIC_SHAPE_NAMES, type SyntheticShapeName } from '../synthetic/model-shapes.js';
import { choiceOption, flagOption, intOption, positional, stringOption, usageError } from './args.js';
import { benchDecode, DECODE_BENCH_DEFAULT_UNITS, DECODE_BENCH_UNITS } from './bench-decode.js';
import { benchGenerate } from './bench-generate.js';
import { EXIT_OK, type CliCommand, type CliContext, type CommandArgs } from './command.js';
import { parseByteSize } from './generation-options.js';

const MODES: readonly EngineMode[] = ['bf16', 'df11', 'offload'];
const DEFAULT_TOKENS = 128;
const DEFAULT_PROMPT_TOKENS = 8;
const DEFAULT_WARMUP_TOKENS = 2;
const DEFAULT_MODE_SECONDS = 90;
const MAX_TOKENS = 1 << 20;
const MAX_LAYERS = 1024;
const MAX_SECONDS = 24 * 3600;
const MAX_SEED = 0xffff;
const DEFAULT_CACHE_DIR = '.cache/bench';
const DEFAULT_DECODE_ITERATIONS = 20;
const MAX_ITERATIONS = 10_000;
const MAX_WORKGROUP_BYTES = 1 << 20;

export const benchCommand: CliCommand = {
  name: 'bench',
  summary: 'benchmark the WebGPU decoder (bench decode) or the inference engine (bench generate)',
  usage: 'decode [--units U,...] [options] | generate [--shape S] [--modes M,...] [--tokens N] [options]',
  help: `df11 bench decode: DF11 units shaped like Llama-3.1-8B weights (normal(0, 0.02) BF16, encoded by
this codec), decoded on the WebGPU adapter and checked bit for bit, then timed: GB/s of BF16 output
next to a plain WGSL copy of the same bytes in the same run, with the adapter.

Options (decode):
  --units U,...      of ${Object.keys(DECODE_BENCH_UNITS).join(', ')} (default ${DECODE_BENCH_DEFAULT_UNITS.join(',')}):
${Object.entries(DECODE_BENCH_UNITS).map(([k, v]) => `                       ${k}: ${v.what}`).join('\n')}
  --iterations N     decodes per timed pass (default ${DEFAULT_DECODE_ITERATIONS})
  --portable         also time the portable kernel (the one for adapters without subgroups)
  --workgroup-bytes B  workgroup memory for the kernels (default: theirs)
  --seed S, --cache-dir D, --no-cache   as below

df11 bench generate: builds a synthetic model in memory (no files): normal(0, 0.02) BF16 weights of
a real architecture, one decoder layer's buffer (and, for df11, one DF11 unit encoded by this codec)
served for every layer: fine for timing, the generated text means nothing. Then runs batch-1 greedy
decoding after a short prompt in each mode and prints tok/s, ms/token, time to first token, peak GPU
memory (bytes the engine allocated), the tokens generated before the KV cache ran out under
--gpu-memory, the adapter, and the effective bandwidth (weight bytes per token x tok/s) next to the
card's peak when the card is known.

Options (generate):
  --shape S          ${SYNTHETIC_SHAPE_NAMES.join(', ')} (default llama-3.1-8b)
  --modes M,...      engine modes to run, in order: ${MODES.join(', ')} (default all three)
  --tokens N         new tokens per mode (default ${DEFAULT_TOKENS})
  --prompt-tokens N  prompt length (default ${DEFAULT_PROMPT_TOKENS})
  --warmup N         tokens generated before the timed run in each mode, repeated for at least
                     1.5 s (default ${DEFAULT_WARMUP_TOKENS}; 0: no warm-up)
  --gpu-memory B     cap on the engine's GPU memory (bytes, or 512MiB, 8GB, ...)
  --layers N         decoder layers instead of the shape's (quicker, less memory)
  --seed S           seed of the synthetic weights (default 1)
  --mode-seconds S   stop a mode's timed run after S seconds (default ${DEFAULT_MODE_SECONDS})
  --matvec-rows R    rows per matrix-vector workgroup, 1-4 (default the engine's; same results)
  --df11-decode D    df11: decode layers and head to exponent planes that the products read
                     beside sign_mantissa (planes, the default), or to BF16 (bf16); same results
  --profile          after the timed run, time every dispatch of one decode step on the GPU (each
                     in a compute pass of its own; needs timestamp queries) and print the time
                     per kernel
  --kv-fit           after the timed run, grow the KV cache as far as --gpu-memory (or the device)
                     allows beside the weights and print how many positions it holds: the tokens
                     a generation could reach before the cache runs out
  --cache-dir D      where encoded DF11 units are cached (default ${DEFAULT_CACHE_DIR})
  --no-cache         encode the DF11 units every time`,
  options: {
    shape: { type: 'string' },
    modes: { type: 'string' },
    tokens: { type: 'string' },
    'prompt-tokens': { type: 'string' },
    warmup: { type: 'string' },
    'gpu-memory': { type: 'string' },
    layers: { type: 'string' },
    seed: { type: 'string' },
    'mode-seconds': { type: 'string' },
    'cache-dir': { type: 'string' },
    'no-cache': { type: 'boolean' },
    units: { type: 'string' },
    iterations: { type: 'string' },
    portable: { type: 'boolean' },
    'workgroup-bytes': { type: 'string' },
    'matvec-rows': { type: 'string' },
    'df11-decode': { type: 'string' },
    profile: { type: 'boolean' },
    'kv-fit': { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  run: runBench,
};

function modesOption(args: CommandArgs): EngineMode[] {
  const raw = stringOption(args, 'modes');
  if (raw === undefined) return [...MODES];
  const modes = raw.split(',').map((m) => m.trim());
  for (const m of modes) if (!(MODES as readonly string[]).includes(m)) throw usageError(`--modes takes ${MODES.join(', ')} separated by commas, got "${raw}"`);
  return modes as EngineMode[];
}

async function runBench(args: CommandArgs, ctx: CliContext): Promise<number> {
  const what = positional(args, 0, 'what to benchmark (decode or generate)');
  const cacheDir = flagOption(args, 'no-cache') ? undefined : resolve(stringOption(args, 'cache-dir') ?? DEFAULT_CACHE_DIR);
  if (what === 'decode') {
    const units = (stringOption(args, 'units') ?? DECODE_BENCH_DEFAULT_UNITS.join(',')).split(',').map((u) => u.trim());
    for (const u of units) if (!DECODE_BENCH_UNITS[u]) throw usageError(`--units takes ${Object.keys(DECODE_BENCH_UNITS).join(', ')} separated by commas, got "${u}"`);
    const wgRaw = stringOption(args, 'workgroup-bytes');
    await benchDecode(
      {
        units,
        iterations: intOption(args, 'iterations', DEFAULT_DECODE_ITERATIONS, 1, MAX_ITERATIONS),
        seed: intOption(args, 'seed', 1, 0, MAX_SEED),
        portable: flagOption(args, 'portable'),
        workgroupBytes: wgRaw === undefined ? undefined : intOption(args, 'workgroup-bytes', 0, 1, MAX_WORKGROUP_BYTES),
        cacheDir,
      },
      ctx,
    );
    return EXIT_OK;
  }
  if (what !== 'generate') throw usageError(`df11 bench knows "decode" and "generate", got "${what}"`);
  const capRaw = stringOption(args, 'gpu-memory');
  const layersRaw = stringOption(args, 'layers');
  await benchGenerate(
    {
      shape: choiceOption<SyntheticShapeName>(args, 'shape', SYNTHETIC_SHAPE_NAMES, 'llama-3.1-8b'),
      modes: modesOption(args),
      tokens: intOption(args, 'tokens', DEFAULT_TOKENS, 1, MAX_TOKENS),
      promptTokens: intOption(args, 'prompt-tokens', DEFAULT_PROMPT_TOKENS, 1, MAX_TOKENS),
      warmupTokens: intOption(args, 'warmup', DEFAULT_WARMUP_TOKENS, 0, MAX_TOKENS),
      gpuMemoryBytes: capRaw === undefined ? undefined : parseByteSize(capRaw, 'gpu-memory'),
      layers: layersRaw === undefined ? undefined : intOption(args, 'layers', 1, 1, MAX_LAYERS),
      seed: intOption(args, 'seed', 1, 0, MAX_SEED),
      modeSeconds: intOption(args, 'mode-seconds', DEFAULT_MODE_SECONDS, 1, MAX_SECONDS),
      exponentPlanes: choiceOption<'planes' | 'bf16'>(args, 'df11-decode', ['planes', 'bf16'], 'planes') === 'planes',
      cacheDir,
      ...(stringOption(args, 'matvec-rows') !== undefined ? { matvecRows: intOption(args, 'matvec-rows', 4, 1, 4) } : {}),
      profile: flagOption(args, 'profile'),
      kvFit: flagOption(args, 'kv-fit'),
    },
    ctx,
  );
  return EXIT_OK;
}
