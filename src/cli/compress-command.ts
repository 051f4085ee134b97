// `df11 compress`: BF16 safetensors model (folder, file or hub repo id) -> DF11 model folder.
import { readFile } from 'node:fs/promises';
import { Df11Error } from '../errors.js';
import { parsePatternDict, DF11_CONFIG_KEY, type PatternDict } from '../format/df11-config.js';
import { publishedPatternDict, PUBLISHED_DICT_NAMES, selectPatternDict, genericPatternDict, type PublishedDictName } from '../format/pattern-dicts.js';
import { choiceOption, flagOption, positional, stringOption, threadsOption, THREADS_HELP, usageError } from './args.js';
import { EXIT_OK, type CliCommand, type CliContext, type CommandArgs } from './command.js';
import { bitsPerWeight, compressModel, THREAD_OVERHEAD_BYTES, UNIT_MEMORY_FACTOR, type Df11LayoutKind } from './compress-model.js';
import { openInputModel, type InputModel } from './model-input.js';
import { resolveModelSource } from './model-source.js';
import { formatBytes } from './progress.js';

/** Largest --pattern-dict file accepted, in bytes. */
const MAX_PATTERN_DICT_FILE_BYTES = 1024 * 1024;
const LAYOUTS: readonly Df11LayoutKind[] = ['shards', 'single'];
const ARCH_NAMES: readonly string[] = [...PUBLISHED_DICT_NAMES, 'generic'];
const PERCENT = 100;

export const compressCommand: CliCommand = {
  name: 'compress',
  summary: 'compress a BF16 safetensors model to DF11 (lossless)',
  usage: '<model-dir|file|hub-repo-id> <out-dir> [options]',
  help: `Arguments:
  <model-dir|file|hub-repo-id>  a folder with config.json and *.safetensors (index.json shards or
                   model.safetensors), one .safetensors file, or a hub repo id org/name[@revision]
                   (downloaded into the hub cache)
  <out-dir>        the DF11 model folder to create

Options:
  --layout L       shards (default): one file per unit plus model.safetensors, as published DF11
                   models; single: one model.safetensors with everything
  --pattern-dict F JSON file with the pattern_dict ({"regex": ["attr", ...], ...}, or a config.json
                   holding dfloat11_config)
  --arch NAME      published pattern dict: ${ARCH_NAMES.join(', ')}
                   (default: chosen from config.json and tensor names, else generic)
${THREADS_HELP}; also the number of units in flight
  --no-checksum    do not store each unit's SHA-256 (of its BF16 bytes) in the shard metadata
  --cast-bf16      convert F32 tensors to BF16 (round to nearest even) instead of refusing them;
                   the result is then lossless with respect to the BF16 cast, not the F32 original
  --overwrite      replace <out-dir> if it exists (only once the new one is complete)
  --strict-ties    fail a unit whose Huffman length limiter must choose among symbols of equal
                   frequency, instead of demoting the lowest exponents (the reference leaves that
                   choice to numpy's argpartition, so byte identity with it is not guaranteed there)

The model is streamed unit by unit, whatever its size: memory stays around threads x (${UNIT_MEMORY_FACTOR} x the
largest unit's BF16 size + ${THREAD_OVERHEAD_BYTES / 1e6} MB); use fewer --threads to use less. Output is written to
<out-dir>.tmp-<random> and renamed at the end, so an interrupted run never leaves a complete-looking
<out-dir>. Prints the size ratio (DF11 bytes / BF16 bytes) and bits per weight at the end.`,
  options: {
    layout: { type: 'string' },
    'pattern-dict': { type: 'string' },
    arch: { type: 'string' },
    threads: { type: 'string' },
    'no-checksum': { type: 'boolean' },
    'cast-bf16': { type: 'boolean' },
    overwrite: { type: 'boolean' },
    'strict-ties': { type: 'boolean' },
  },
  positionals: { min: 2, max: 2 },
  run: runCompress,
};

async function runCompress(args: CommandArgs, ctx: CliContext): Promise<number> {
  const source = positional(args, 0, '<model-dir|file|hub-repo-id>');
  const outDir = positional(args, 1, '<out-dir>');
  const layout = choiceOption(args, 'layout', LAYOUTS, 'shards');
  const threads = threadsOption(args, ctx.cpuCount);
  const dictFile = stringOption(args, 'pattern-dict');
  const arch = stringOption(args, 'arch');
  if (dictFile !== undefined && arch !== undefined) throw usageError('give either --pattern-dict or --arch, not both');
  if (arch !== undefined && !ARCH_NAMES.includes(arch)) throw usageError(`--arch must be one of ${ARCH_NAMES.join(', ')}, got "${arch}"`);
  const castBf16 = flagOption(args, 'cast-bf16');

  const download = ctx.progress('download', 0);
  const resolved = await resolveModelSource(source, {
    ...(ctx.env.hfEndpoint !== undefined ? { endpoint: ctx.env.hfEndpoint } : {}),
    offline: ctx.env.hfOffline,
    cacheDir: ctx.env.hubCacheDir,
    ...(ctx.env.hfToken !== undefined ? { accessToken: ctx.env.hfToken } : {}),
    onProgress: (done, total) => {
      download.setTotal(total);
      download.advance(done - download.completed);
    },
  });
  download.finish();

  const input = await openInputModel(resolved.path);
  try {
    const { dict, reason } = await choosePatternDict(input, dictFile, arch);
    ctx.info(`pattern dict: ${reason}`);
    const progress = ctx.progress('compress', 0);
    let summary;
    try {
      summary = await compressModel({
        input,
        outDir,
        layout,
        patternDict: dict,
        threads,
        checksum: !flagOption(args, 'no-checksum'),
        overwrite: flagOption(args, 'overwrite'),
        castBf16,
        ties: flagOption(args, 'strict-ties') ? 'strict' : 'lowest-exponent',
        progress,
        signal: ctx.signal,
      });
    } catch (e) {
      throw explainNotBf16(e, input, castBf16);
    } finally {
      progress.finish();
    }
    const ratio = summary.bf16Bytes === 0 ? 0 : (summary.df11Bytes / summary.bf16Bytes) * PERCENT;
    ctx.stdout.write(
      [
        `compressed ${summary.units} units (${summary.weights} weights) in ${summary.seconds.toFixed(1)} s with ${summary.threads} thread(s)`,
        `units: ${formatBytes(summary.bf16Bytes)} BF16 -> ${formatBytes(summary.df11Bytes)} DF11: ratio ${ratio.toFixed(2)} %, ${bitsPerWeight(summary).toFixed(3)} bits/weight`,
        `copied unchanged: ${summary.copiedTensors} tensors, ${formatBytes(summary.copiedBytes)}`,
        ...summary.tied.map((t) => `tied weight stored as its own unit, as the reference compressor does: ${t}`),
        ...summary.limiterTies.map((t) => `note: ${t}; resolved by demoting the lowest exponents (valid and lossless; the reference may have chosen differently)`),
        `output: ${outDir} (${formatBytes(summary.outputBytes)})${castBf16 ? ' (lossless with respect to the BF16 cast of F32 tensors)' : ''}`,
        '',
      ].join('\n'),
    );
    return EXIT_OK;
  } finally {
    await input.model.close();
  }
}

/** The pattern dict from --pattern-dict, --arch, or chosen for the model; with a reason for the log. */
async function choosePatternDict(input: InputModel, dictFile: string | undefined, arch: string | undefined): Promise<{ dict: PatternDict; reason: string }> {
  // Chosen on names and shapes as if every float tensor were BF16, so that an F32 or F16 model gets
  // its proper dict and then a clear not-bf16 error naming the tensor (unless --cast-bf16).
  const tensors = input.tensors.map((t) => ({ ...t, dtype: t.dtype === 'F32' || t.dtype === 'F16' ? ('BF16' as const) : t.dtype }));
  if (dictFile !== undefined) return { dict: await readPatternDictFile(dictFile), reason: `from ${dictFile}` };
  if (arch === 'generic') return { dict: genericPatternDict(tensors), reason: 'generic dict built from tensor names' };
  if (arch !== undefined) return { dict: publishedPatternDict(arch as PublishedDictName), reason: `published ${arch} dict` };
  const choice = selectPatternDict(tensors, input.config);
  return { dict: choice.dict, reason: choice.reason };
}

/** Reads a pattern dict from a JSON file: the dict itself, `{"pattern_dict": …}` or a config with dfloat11_config. */
export async function readPatternDictFile(file: string): Promise<PatternDict> {
  let text: string;
  try {
    const buf = await readFile(file);
    if (buf.length > MAX_PATTERN_DICT_FILE_BYTES) throw new Df11Error('config-invalid', `pattern dict file exceeds ${MAX_PATTERN_DICT_FILE_BYTES} bytes`, { file });
    text = buf.toString('utf8');
  } catch (cause) {
    if (cause instanceof Df11Error) throw cause;
    throw new Df11Error('io', `cannot read the pattern dict: ${(cause as Error).message}`, { file, cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new Df11Error('config-invalid', `pattern dict is not valid JSON: ${(cause as Error).message}`, { file, cause });
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    if (Object.hasOwn(o, DF11_CONFIG_KEY)) value = (o[DF11_CONFIG_KEY] as Record<string, unknown> | null)?.['pattern_dict'];
    else if (Object.hasOwn(o, 'pattern_dict')) value = o['pattern_dict'];
  }
  return parsePatternDict(value, file);
}

/** Adds the --cast-bf16 hint to a not-bf16 error about an F32 weight. */
function explainNotBf16(e: unknown, input: InputModel, castBf16: boolean): unknown {
  if (!(e instanceof Df11Error) || e.code !== 'not-bf16' || castBf16 || e.tensor === undefined) return e;
  const t = input.tensors.find((x) => x.name === e.tensor);
  if (t?.dtype !== 'F32') return e;
  return new Df11Error('not-bf16', `weight is F32; DF11 compresses BF16 only. Convert the model to BF16 first, or pass --cast-bf16 to round F32 to BF16 (the result is then lossless with respect to that cast)`, {
    file: input.path,
    tensor: e.tensor,
  });
}
