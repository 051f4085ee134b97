// `df11 generate`: text generation with the WebGPU inference engine from a BF16 or DF11 model folder.
import { Df11Error } from '../errors.js';
import { InferenceEngine } from '../runtime/engine.js';
import { parseModelConfig } from '../runtime/model-config.js';
import { generate, type GenerationSummary } from '../runtime/generate.js';
import { loadTokenizer, openModelDir } from '../runtime/node/open-model.js';
import { positional, stringOption, usageError } from './args.js';
import { acquireCliGpu } from './cli-gpu.js';
import { GENERATION_OPTIONS, parseGenerationOptions } from './generation-options.js';
import { EXIT_OK, type CliCommand, type CliContext, type CommandArgs } from './command.js';
import { formatBytes } from './progress.js';

const DEFAULT_MAX_TOKENS = 256;
export const generateCommand: CliCommand = {
  name: 'generate',
  summary: 'generate text with the WebGPU inference engine (BF16 or DF11 model)',
  usage: '<model-dir> [--prompt P] [--max-tokens N] [options]',
  help: `Arguments:
  <model-dir>      a BF16 model folder (config.json + safetensors) or a DF11 folder (df11 compress
                   output); Llama-family models (Llama 2/3, Mistral, Qwen2, Qwen3). The tokenizer is
                   the folder's tokenizer.json, else its llama2.c tokenizer.bin / tok*.bin, or --tokenizer

Options:
  --prompt P       text to continue (default: empty, generation starts from BOS)
  --max-tokens N   tokens to generate at most (default ${DEFAULT_MAX_TOKENS})
  --temperature T  0 (default) = greedy on the GPU; > 0 samples on the host
  --top-k K        sample among the K most likely tokens (0 = all)
  --top-p P        sample among the most likely tokens holding probability P (default 1)
  --seed S         seed of the sampler (default 0): the same seed gives the same text
  --mode M         bf16 (BF16 weights resident), df11 (units resident compressed, decoded on the GPU
                   before each layer), offload (BF16 weights in host memory, uploaded each pass);
                   default: df11 for a DF11 folder, else bf16
  --gpu-memory B   cap on GPU memory for weights, scratch, KV cache and activations (bytes, or with
                   a suffix: 512MiB, 8GB). bf16 offloads layers that do not fit; generation stops
                   when the KV cache cannot grow
  --tokenizer F    tokenizer.json or llama2.c tokenizer file (default: found in <model-dir>)

The text goes to stdout as it is generated; the adapter, time to first token, tokens per second and
peak GPU memory go to stderr. Without a GPU, WebGPU runs on SwiftShader (a CPU fallback, slow) when
VK_ICD_FILENAMES points at its ICD.`,
  options: {
    prompt: { type: 'string' },
    ...GENERATION_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
  run: runGenerate,
};

async function runGenerate(args: CommandArgs, ctx: CliContext): Promise<number> {
  const dir = positional(args, 0, '<model-dir>');
  const prompt = stringOption(args, 'prompt') ?? '';
  const { maxTokens, sampling, mode, gpuMemoryBytes, tokenizer: tokenizerPath } = parseGenerationOptions(args, DEFAULT_MAX_TOKENS);

  const model = await openModelDir(dir);
  try {
    if (mode === 'df11' && model.files.kind !== 'df11') throw usageError(`--mode df11 needs a DF11 model folder (make one with df11 compress); ${dir} holds BF16 weights`);
    if (mode !== undefined && mode !== 'df11' && model.files.kind === 'df11') throw usageError(`--mode ${mode} needs BF16 weights; ${dir} is a DF11 model (use --mode df11)`);
    const config = parseModelConfig(model.files.config, dir);
    const tokenizer = await loadTokenizer(model.dir, config.vocabSize, tokenizerPath);
    const bos = config.bosTokenId ?? tokenizer.bosId;
    // The tokenizer adds BOS itself where the model expects it (llama2.c, Llama 3; not Qwen). With an
    // empty prompt and no BOS from the tokenizer, generation starts from the BOS/EOS id.
    const encoded = tokenizer.encode(prompt, { bos: true });
    const promptIds = encoded.length > 0 ? encoded : bos === undefined ? [] : [bos];
    if (promptIds.length === 0) throw usageError('the prompt is empty and the model defines no BOS token to start from');
    const ids = promptIds[0] === bos ? promptIds.slice(1) : promptIds;
    const stops = new Set([...config.eosTokenIds, ...tokenizer.eosIds]);
    const gpu = await acquireCliGpu(ctx);
    try {
      const engine = await InferenceEngine.create(gpu, model.files, {
        ...(mode !== undefined ? { mode } : {}),
        ...(gpuMemoryBytes !== undefined ? { gpuMemoryBytes } : {}),
        contextTokens: Math.min(promptIds.length + maxTokens - 1, config.maxPositions),
      });
      try {
        ctx.info(`weights: ${engine.describeWeights()}`);
        const decoder = tokenizer.streamDecoder(promptIds[promptIds.length - 1]);
        ctx.stdout.write(tokenizer.decode(ids, bos));
        const summary = await generate(engine, promptIds, {
          maxTokens,
          sampling,
          stopTokens: [...stops],
          signal: ctx.signal,
          onToken: (id) => {
            if (!stops.has(id)) ctx.stdout.write(decoder.next(id));
          },
        });
        ctx.stdout.write(decoder.flush() + '\n');
        if (summary.stopReason === 'aborted') throw new Df11Error('interrupted', 'generation interrupted');
        report(ctx, summary, engine);
        return EXIT_OK;
      } finally {
        engine.destroy();
      }
    } finally {
      gpu.destroy();
    }
  } finally {
    await model.close();
  }
}

function report(ctx: CliContext, s: GenerationSummary, engine: InferenceEngine): void {
  if (s.stopReason === 'context-full') {
    const why = engine.capacity >= engine.config.maxPositions ? `the model's context of ${engine.config.maxPositions} positions` : 'the GPU memory limit';
    ctx.stderr.write(`stopped: the KV cache is full (${s.capacity} positions fit under ${why}); ${s.tokens.length} tokens were generated after ${s.promptTokens} prompt tokens\n`);
  }
  const rate = Number.isNaN(s.decodeTokensPerSecond) ? 'n/a' : s.decodeTokensPerSecond.toFixed(2);
  ctx.info(
    [
      `generated ${s.tokens.length} tokens (prompt ${s.promptTokens}, stop: ${s.stopReason}) in ${(s.totalMs / 1000).toFixed(2)} s`,
      `time to first token ${s.timeToFirstTokenMs.toFixed(1)} ms, ${rate} tok/s, peak GPU memory ${engine.memory.peakBytes} bytes (${formatBytes(engine.memory.peakBytes)}), mode ${engine.mode}`,
    ].join('\n'),
  );
}
