/**
 * Node-only glue (the rest of src/runtime uses no Node API): opens a model directory as the
 * engine's ModelFiles and finds its tokenizer.
 * - A DF11 directory (config.json with dfloat11_config) is opened with openDf11Model.
 * - A BF16 directory: its index.json shards, else `model.safetensors`, else every `*.safetensors`.
 * Tokenizer: `tokenizer.json` (Hugging Face), else `tokenizer.bin` or a single `tok*.bin` (llama2.c).
 */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Df11Error } from '../../errors.js';
import { DF11_CONFIG_KEY } from '../../format/df11-config.js';
import { openDf11Model } from '../../format/df11-open.js';
import { INDEX_FILE_NAME } from '../../format/safetensors-index.js';
import { SafetensorsModel } from '../../format/safetensors-model.js';
import type { ModelFiles } from '../model-files.js';
import { Llama2cTokenizer } from '../tokenizer-llama2c.js';
import type { HfTokenizer } from '../tokenizer-hf.js';
import { HF_TOKENIZER_FILE, loadHfTokenizer } from './hf-tokenizer-files.js';
import { readSmallFile } from './small-file.js';

const CONFIG_FILE = 'config.json';
const SINGLE_WEIGHTS_FILE = 'model.safetensors';
const LLAMA2C_TOKENIZER = /^(tokenizer|tok\d*)\.bin$/;

export interface OpenedModel {
  files: ModelFiles;
  /** The directory. */
  dir: string;
  close(): Promise<void>;
}

async function readConfig(dir: string): Promise<Record<string, unknown>> {
  const file = join(dir, CONFIG_FILE);
  if (!existsSync(file)) throw new Df11Error('config-invalid', 'the model directory has no config.json', { file: dir });
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(await readSmallFile(file)));
  } catch (cause) {
    if (cause instanceof Df11Error) throw cause;
    throw new Df11Error('config-invalid', `config.json is not valid JSON: ${(cause as Error).message}`, { file, cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Df11Error('config-invalid', 'config.json is not a JSON object', { file });
  return value as Record<string, unknown>;
}

/**
 * Opens a BF16 or DF11 model directory.
 * @throws Df11Error 'io', 'config-invalid', and the safetensors / DF11 layout errors.
 */
export async function openModelDir(dir: string): Promise<OpenedModel> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (cause) {
    throw new Df11Error('io', `cannot open: ${(cause as Error).message}`, { file: dir, cause });
  }
  if (!isDir) throw new Df11Error('usage', 'the model must be a directory with config.json and safetensors files', { file: dir });
  const config = await readConfig(dir);
  if (Object.hasOwn(config, DF11_CONFIG_KEY)) {
    const m = await openDf11Model(dir);
    return {
      dir,
      files: { kind: 'df11', config, name: dir, tensors: m.safetensors, units: m.units, readUnit: (path) => m.readUnit(path) },
      close: () => m.close(),
    };
  }
  const single = join(dir, SINGLE_WEIGHTS_FILE);
  const target = !existsSync(join(dir, INDEX_FILE_NAME)) && existsSync(single) ? single : dir;
  const st = await SafetensorsModel.open(target);
  return { dir, files: { kind: 'bf16', config, name: dir, tensors: st }, close: () => st.close() };
}

/** The tokenizers loadTokenizer returns. */
export type ModelTokenizer = Llama2cTokenizer | HfTokenizer;

/**
 * The tokenizer of a model: `explicitPath` if given (a `.json` file is read as tokenizer.json, any
 * other as llama2.c), else the folder's `tokenizer.json` (Hugging Face, with tokenizer_config.json,
 * generation_config.json and config.json for its special tokens), else `tokenizer.bin` or the single
 * `tok*.bin` (llama2.c).
 * @throws Df11Error 'tokenizer-invalid' when there is none (or several llama2.c candidates), or the
 *   file is bad; 'io' when a file cannot be read.
 */
export async function loadTokenizer(dir: string, vocabSize: number, explicitPath?: string): Promise<ModelTokenizer> {
  let file = explicitPath;
  if (file === undefined && existsSync(join(dir, HF_TOKENIZER_FILE))) file = join(dir, HF_TOKENIZER_FILE);
  if (file === undefined) {
    const names = (await readdir(dir)).filter((n) => LLAMA2C_TOKENIZER.test(n)).sort();
    const pick = names.includes('tokenizer.bin') ? 'tokenizer.bin' : names.length === 1 ? names[0] : undefined;
    if (pick === undefined) {
      throw new Df11Error('tokenizer-invalid', `no llama2.c tokenizer (tokenizer.bin or tok*.bin) and no ${HF_TOKENIZER_FILE} in the model directory${names.length > 1 ? `; several candidates: ${names.join(', ')}` : ''}; pass --tokenizer`, { file: dir });
    }
    file = join(dir, pick);
  }
  if (file.toLowerCase().endsWith('.json')) return loadHfTokenizer(file, dir, vocabSize);
  return Llama2cTokenizer.parse(await readSmallFile(file), vocabSize, file);
}
