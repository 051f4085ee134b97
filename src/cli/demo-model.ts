// Provides the stories260K demo model as a Hugging Face folder (config.json + BF16 model.safetensors +
// tok512.bin): the copy shipped beside the checkout when there is one, else the llama2.c original
// downloaded from the hub (karpathy/tinyllamas) and converted with importLlama2c, kept in a cache.
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Df11Error } from '../errors.js';
import { importLlama2c } from '../format/llama2c.js';
import { downloadHubSnapshot, type ProgressCallback } from './hub-download.js';

export const DEMO_HUB_REPO = 'karpathy/tinyllamas';
export const DEMO_CHECKPOINT_PATH = 'stories260K/stories260K.bin';
export const DEMO_TOKENIZER_PATH = 'stories260K/tok512.bin';
/** Folder name of the converted model inside the demo cache. */
const DEMO_MODEL_DIR_NAME = 'stories260K';
const DEMO_MODEL_FILES = ['config.json', 'model.safetensors'] as const;

export interface DemoModelOptions {
  /** The repository checkout: the shipped model is looked for at `<repoRoot>/../shared/models/stories260K`. */
  repoRoot: string;
  /** Overrides where the shipped model is looked for. */
  sharedDir?: string;
  /** Where the download and the converted model are kept; default `<repoRoot>/.cache/demo`. */
  cacheDir?: string;
  /** Hub base URL (HF_ENDPOINT); default https://huggingface.co. */
  endpoint?: string;
  /** Use only what is already cached (HF_HUB_OFFLINE=1). */
  offline?: boolean;
  accessToken?: string;
  onProgress?: ProgressCallback;
}

export interface DemoModel {
  dir: string;
  /** shared: the copy beside the checkout; cache: converted earlier; hub: downloaded and converted now. */
  source: 'shared' | 'cache' | 'hub';
}

/** Whether `dir` holds a loadable Hugging Face model (config.json and model.safetensors). */
export function isModelDir(dir: string): boolean {
  return DEMO_MODEL_FILES.every((f) => existsSync(join(dir, f)));
}

/**
 * Returns a folder with the demo model, downloading and converting it only when neither the shipped
 * copy nor an earlier conversion exists. The converted folder appears atomically (built under a
 * temporary name, then renamed).
 * @throws Df11Error 'hub' when the download fails, plus importLlama2c's errors for a bad checkpoint.
 */
export async function provisionDemoModel(options: DemoModelOptions): Promise<DemoModel> {
  const shared = options.sharedDir ?? resolve(options.repoRoot, '..', 'shared', 'models', DEMO_MODEL_DIR_NAME);
  if (isModelDir(shared)) return { dir: shared, source: 'shared' };
  const cacheDir = options.cacheDir ?? join(options.repoRoot, '.cache', 'demo');
  const modelDir = join(cacheDir, DEMO_MODEL_DIR_NAME);
  if (isModelDir(modelDir)) return { dir: modelDir, source: 'cache' };

  const wanted: readonly string[] = [DEMO_CHECKPOINT_PATH, DEMO_TOKENIZER_PATH];
  const snapshot = await downloadHubSnapshot(
    {
      repo: DEMO_HUB_REPO,
      select: (path) => wanted.includes(path),
      checkComplete: async (dir) => wanted.map((p) => (existsSync(join(dir, p)) ? undefined : `${p} is missing`)).find(Boolean),
    },
    {
      cacheDir: join(cacheDir, 'hub'),
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      ...(options.offline !== undefined ? { offline: options.offline } : {}),
      ...(options.accessToken !== undefined ? { accessToken: options.accessToken } : {}),
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    },
  );
  const staging = `${modelDir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  try {
    await importLlama2c(join(snapshot.dir, DEMO_CHECKPOINT_PATH), staging, { tokenizerPath: join(snapshot.dir, DEMO_TOKENIZER_PATH) });
    await rename(staging, modelDir);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    if (isModelDir(modelDir)) return { dir: modelDir, source: 'cache' };
    throw e instanceof Df11Error ? e : new Df11Error('io', `cannot create the demo model: ${String(e)}`, { file: modelDir, cause: e });
  }
  return { dir: modelDir, source: 'hub' };
}
