// Opening a BF16 input model for compress/verify: a safetensors file, or a model directory (its
// index.json shards, else its `model.safetensors`, else every `*.safetensors` file), plus the
// `config.json` beside it. Tensor data stays on disk; only headers are read here.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Df11Error } from '../errors.js';
import type { TensorInfo } from '../format/df11-units.js';
import { SafetensorsModel } from '../format/safetensors-model.js';
import { INDEX_FILE_NAME } from '../format/safetensors-index.js';
import { DF11_CONFIG_FILE } from '../format/df11-layout.js';

/** config.json larger than this is refused (real ones are a few KiB). */
export const MAX_MODEL_CONFIG_BYTES = 16 * 1024 * 1024;
/** The usual single-file weights name of a transformers model. */
const SINGLE_WEIGHTS_FILE = 'model.safetensors';

export interface InputModel {
  /** The path given (file or directory). */
  path: string;
  /** The directory holding the weights and config.json. */
  dir: string;
  model: SafetensorsModel;
  /** Parsed config.json, or null when there is none. */
  config: Record<string, unknown> | null;
  /** Every tensor's name, dtype and shape, in model order. */
  tensors: TensorInfo[];
}

/**
 * Opens a BF16 model. In a directory with several `*.safetensors` files and no index,
 * `model.safetensors` is preferred when present (model folders often carry other variants beside it).
 * Throws Df11Error io / config-invalid / any safetensors header error.
 */
export async function openInputModel(path: string): Promise<InputModel> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (cause) {
    throw new Df11Error('io', `cannot open: ${(cause as Error).message}`, { file: path, cause });
  }
  const dir = isDir ? path : dirname(path);
  let target = path;
  if (isDir && !existsSync(join(path, INDEX_FILE_NAME)) && existsSync(join(path, SINGLE_WEIGHTS_FILE))) target = join(path, SINGLE_WEIGHTS_FILE);
  const config = await readModelConfig(join(dir, DF11_CONFIG_FILE));
  const model = await SafetensorsModel.open(target);
  const tensors = model.names().map((name) => {
    const e = model.entry(name);
    return { name, dtype: e.dtype, shape: e.shape };
  });
  return { path, dir, model, config, tensors };
}

/** Reads and parses a config.json; null when the file does not exist. Throws config-invalid / io. */
export async function readModelConfig(file: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    const st = await stat(file);
    if (!st.isFile()) return null;
    if (st.size > MAX_MODEL_CONFIG_BYTES) throw new Df11Error('config-invalid', `config.json of ${st.size} bytes exceeds ${MAX_MODEL_CONFIG_BYTES}`, { file });
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if (cause instanceof Df11Error) throw cause;
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Df11Error('io', `cannot read: ${(cause as Error).message}`, { file, cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new Df11Error('config-invalid', `not valid JSON: ${(cause as Error).message}`, { file, cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Df11Error('config-invalid', 'config.json is not a JSON object', { file });
  return value as Record<string, unknown>;
}
