// Turns a CLI model argument into a local folder: a path is used as it is; an `org/name[@revision]`
// hub repo id is downloaded (only the files a model needs) into the Hugging Face hub cache.
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Df11Error } from '../errors.js';
import { checkRevision, defaultHubCacheDir } from './hub-cache.js';
import { downloadHubSnapshot, type ProgressCallback } from './hub-download.js';

export interface ModelSourceOptions {
  /** Hub base URL (the CLI passes `HF_ENDPOINT`); default https://huggingface.co. */
  endpoint?: string;
  /** Use only the hub cache (the CLI passes `HF_HUB_OFFLINE=1`). */
  offline?: boolean;
  /** Hub cache folder; default `$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`. */
  cacheDir?: string;
  /** Token for private or gated repos (the CLI passes `HF_TOKEN`). */
  accessToken?: string;
  /** Byte progress over all files of the download. */
  onProgress?: ProgressCallback;
}

export interface ModelSource {
  path: string;
  fromHub: boolean;
}

export interface HubRepoRef {
  repo: string;
  revision?: string;
}

/** `org/name` with hub naming rules: letters, digits, `-`, `_`, `.`; no `..` or `--` edge cases checked here. */
const REPO_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}\/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$/;
/** Top-level files a model needs: configs, tokenizer files, safetensors weights and their index. */
const MODEL_FILE_PATTERN =
  /^(?:config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|tokenizer\.model|special_tokens_map\.json|added_tokens\.json|vocab\.json|vocab\.txt|merges\.txt|chat_template\.jinja|chat_template\.json|[^/]+\.safetensors|[^/]+\.safetensors\.index\.json)$/;

/** Parses `org/name` or `org/name@revision`; undefined when `input` is not a repo id. */
export function parseHubRepoId(input: string): HubRepoRef | undefined {
  const at = input.indexOf('@');
  const repo = at < 0 ? input : input.slice(0, at);
  if (!REPO_ID_PATTERN.test(repo) || repo.includes('..')) return undefined;
  if (at < 0) return { repo };
  const revision = input.slice(at + 1);
  checkRevision(revision);
  return { repo, revision };
}

/** Whether a repo path is one df11 downloads (never `*.bin`, `*.pt`, `*.pth`, `*.pkl`, `*.gguf`, subfolders). */
export function isModelFile(path: string): boolean {
  return MODEL_FILE_PATTERN.test(path);
}

/**
 * Returns a local path for `input`: an existing file or folder unchanged (`fromHub: false`), otherwise
 * the hub snapshot folder of the repo id `input` (`fromHub: true`), downloading what is missing unless
 * `offline`.
 * @throws Df11Error 'io' when `input` is neither an existing path nor a repo id; 'hub' when the download
 *   fails (repo or file not found, network down) or, offline, the cache lacks the model.
 */
export async function resolveModelSource(input: string, opts: ModelSourceOptions = {}): Promise<ModelSource> {
  if (existsSync(input)) return { path: input, fromHub: false };
  const ref = parseHubRepoId(input);
  if (ref === undefined) throw new Df11Error('io', 'no such file or folder, and not a hub repo id (org/name[@revision])', { file: input });
  const snapshot = await downloadHubSnapshot(
    { ...ref, select: isModelFile, checkComplete: checkModelSnapshot },
    {
      cacheDir: opts.cacheDir ?? defaultHubCacheDir(process.env),
      ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
      ...(opts.offline !== undefined ? { offline: opts.offline } : {}),
      ...(opts.accessToken !== undefined ? { accessToken: opts.accessToken } : {}),
      ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
    },
  );
  return { path: snapshot.dir, fromHub: true };
}

/** A model folder needs config.json and safetensors weights, and every shard its index names. */
async function checkModelSnapshot(dir: string): Promise<string | undefined> {
  const names = await readdir(dir);
  if (!names.includes('config.json')) return 'config.json is missing';
  if (!names.some((n) => n.endsWith('.safetensors') && existsSync(join(dir, n)))) return 'no *.safetensors weights';
  for (const index of names.filter((n) => n.endsWith('.safetensors.index.json'))) {
    let shards: string[];
    try {
      const parsed = JSON.parse(await readFile(join(dir, index), 'utf8')) as { weight_map?: Record<string, unknown> };
      shards = [...new Set(Object.values(parsed.weight_map ?? {}).map(String))];
    } catch {
      return `${index} is not valid JSON`;
    }
    const absent = shards.find((s) => !existsSync(join(dir, s)));
    if (absent !== undefined) return `shard ${absent} named by ${index} is missing`;
  }
  return undefined;
}
