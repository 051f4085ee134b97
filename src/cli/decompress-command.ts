// `df11 decompress`: DF11 model folder -> BF16 safetensors model with the original tensors.
import { intOption, positional, threadsOption, THREADS_HELP, flagOption } from './args.js';
import { EXIT_OK, type CliCommand, type CliContext, type CommandArgs } from './command.js';
import { decompressModel, DEFAULT_SHARD_BYTES } from './decompress-model.js';
import { formatBytes } from './progress.js';
import { openGpuUnitDecoder } from './unit-decoder.js';

/** Smallest accepted --shard-size (bytes); below this, shards would be absurdly many. */
const MIN_SHARD_BYTES = 1024;

export const decompressCommand: CliCommand = {
  name: 'decompress',
  summary: 'restore the BF16 safetensors model from a DF11 model (byte-identical weights)',
  usage: '<df11-dir> <out-dir> [options]',
  help: `Arguments:
  <df11-dir>       a DF11 model folder (or single DF11 .safetensors file with config.json beside it)
  <out-dir>        the BF16 model folder to create

Options:
${THREADS_HELP}
  --shard-size B   split the output into shards of at most B bytes, with model.safetensors.index.json
                   (default ${DEFAULT_SHARD_BYTES}); a model at most this large is one model.safetensors
  --overwrite      replace <out-dir> if it exists (only once the new one is complete)
  --gpu            decode on the GPU through WebGPU (SwiftShader, a CPU fallback, where there is no
                   GPU) instead of the CPU threads; the output is the same, byte for byte

Restored weights get their shapes from the df11.shapes metadata df11 stores; models without it
(published DF11 files) take them from config.json (Llama-like models). Stored checksums are
checked while decoding. config.json is written without dfloat11_config. One unit is decoded at a
time, its chunks split over the threads; memory stays around 3.4 bytes per weight of the largest
unit. Output is written to <out-dir>.tmp-<random> and renamed at the end.`,
  options: {
    threads: { type: 'string' },
    'shard-size': { type: 'string' },
    overwrite: { type: 'boolean' },
    gpu: { type: 'boolean' },
  },
  positionals: { min: 2, max: 2 },
  run: runDecompress,
};

async function runDecompress(args: CommandArgs, ctx: CliContext): Promise<number> {
  const inputDir = positional(args, 0, '<df11-dir>');
  const outDir = positional(args, 1, '<out-dir>');
  const threads = threadsOption(args, ctx.cpuCount);
  const shardBytes = intOption(args, 'shard-size', DEFAULT_SHARD_BYTES, MIN_SHARD_BYTES, Number.MAX_SAFE_INTEGER);
  const decoder = flagOption(args, 'gpu') ? await openGpuUnitDecoder(ctx) : undefined;
  const progress = ctx.progress('decompress', 0);
  let s;
  try {
    s = await decompressModel({ inputDir, outDir, threads, overwrite: flagOption(args, 'overwrite'), shardBytes, progress, signal: ctx.signal, ...(decoder ? { decoder } : {}) });
  } finally {
    progress.finish();
    await decoder?.close();
  }
  const shapes = s.configShapes > 0 ? `; shapes of ${s.configShapes} unit(s) from config.json` : '';
  const tied = s.tied > 0 ? `; ${s.tied} tied alias(es) such as lm_head.weight left out (re-tied on load)` : '';
  ctx.stdout.write(
    [
      `decompressed ${s.units} units (${s.weights} weights) in ${s.seconds.toFixed(1)} s; ${s.checksums} checksum(s) matched${shapes}${tied}`,
      `output: ${outDir}: ${s.tensors} tensors, ${formatBytes(s.bytes)} in ${s.files.length} file(s)`,
      '',
    ].join('\n'),
  );
  return EXIT_OK;
}
