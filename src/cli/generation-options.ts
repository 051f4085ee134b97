// Options that text commands share with `df11 generate` (token budget, sampling, weight mode, GPU
// memory cap), parsed the same way: a malformed value is a usage error (exit code 2).
import type { SamplingOptions } from '../runtime/sampler.js';
import type { EngineMode } from '../runtime/weights/weight-provider.js';
import { choiceOption, intOption, stringOption, usageError } from './args.js';
import type { CommandArgs, CommandOptions } from './command.js';

const MODES: readonly EngineMode[] = ['bf16', 'df11', 'offload'];
const MAX_TOKENS_LIMIT = 1 << 20;
const MAX_TOP_K = 1 << 24;
const MAX_SEED = 0xffffffff;

/** Byte-size suffixes accepted by --gpu-memory. */
const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1e3,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1e9,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1e12,
  tib: 1024 ** 4,
};

/** "123", "512MiB", "1.5G", "8GB" -> bytes. @throws usage error otherwise. */
export function parseByteSize(raw: string, option: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw usageError(`--${option} must be a size in bytes such as 2000000000, 512MiB or 8GB, got "${raw}"`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw usageError(`--${option} must be a positive size, got "${raw}"`);
  return bytes;
}

/** The option definitions (parseArgs form). */
export const GENERATION_OPTIONS: CommandOptions = {
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  mode: { type: 'string' },
  'gpu-memory': { type: 'string' },
  tokenizer: { type: 'string' },
};

export interface GenerationCliOptions {
  maxTokens: number;
  sampling: SamplingOptions;
  mode: EngineMode | undefined;
  gpuMemoryBytes: number | undefined;
  tokenizer: string | undefined;
}

function floatOption(args: CommandArgs, name: string, fallback: number, min: number, max: number): number {
  const raw = stringOption(args, name);
  if (raw === undefined) return fallback;
  const v = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max) throw usageError(`--${name} must be a number between ${min} and ${max}, got "${raw}"`);
  return v;
}

/** Parses GENERATION_OPTIONS; `defaultMaxTokens` when --max-tokens is absent. */
export function parseGenerationOptions(args: CommandArgs, defaultMaxTokens: number): GenerationCliOptions {
  const modeRaw = stringOption(args, 'mode');
  const capRaw = stringOption(args, 'gpu-memory');
  return {
    maxTokens: intOption(args, 'max-tokens', defaultMaxTokens, 1, MAX_TOKENS_LIMIT),
    sampling: {
      temperature: floatOption(args, 'temperature', 0, 0, Number.MAX_VALUE),
      topK: intOption(args, 'top-k', 0, 0, MAX_TOP_K),
      topP: floatOption(args, 'top-p', 1, Number.MIN_VALUE, 1),
      seed: intOption(args, 'seed', 0, 0, MAX_SEED),
    },
    mode: modeRaw === undefined ? undefined : choiceOption(args, 'mode', MODES, 'bf16'),
    gpuMemoryBytes: capRaw === undefined ? undefined : parseByteSize(capRaw, 'gpu-memory'),
    tokenizer: stringOption(args, 'tokenizer'),
  };
}
