// `model.safetensors.index.json`: the map from tensor name to shard file of a sharded model
// ({"metadata": {...}, "weight_map": {"<tensor>": "<file>", ...}}). Pure parsing and validation.

import { Df11Error } from '../errors.js';
import { MAX_HEADER_BYTES } from './safetensors-header.js';
import { JsonObject, JsonSyntaxError, parseJsonStrict, type JsonValue } from './json-strict.js';

/** The index file name transformers writes beside sharded weights. */
export const INDEX_FILE_NAME = 'model.safetensors.index.json';
/** Any file ending so is an index (diffusers writes `diffusion_pytorch_model.safetensors.index.json`). */
export const INDEX_FILE_SUFFIX = '.safetensors.index.json';
/** Largest index file accepted, in bytes (same bound as a header). */
export const MAX_INDEX_BYTES = MAX_HEADER_BYTES;

export interface SafetensorsIndex {
  /** [tensor name, shard file name] in the order of the index */
  weightMap: Array<[string, string]>;
  /** distinct shard file names, in order of first appearance */
  files: string[];
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses an index file's bytes. Shard names must be plain file names in the same directory (no path
 * separator, not `.` or `..`), so an index can never point outside its model directory.
 * Throws Df11Error header-too-large, header-invalid-json, header-invalid or duplicate-tensor naming `file`.
 */
export function parseSafetensorsIndex(bytes: Uint8Array, file: string): SafetensorsIndex {
  if (bytes.length > MAX_INDEX_BYTES) {
    throw new Df11Error('header-too-large', `index of ${bytes.length} bytes exceeds the limit of ${MAX_INDEX_BYTES} bytes`, { file });
  }
  let root: JsonValue;
  try {
    root = parseJsonStrict(utf8Decoder.decode(bytes));
  } catch (cause) {
    if (cause instanceof JsonSyntaxError || cause instanceof TypeError || cause instanceof RangeError) {
      throw new Df11Error('header-invalid-json', `index is not valid UTF-8 JSON: ${(cause as Error).message}`, { file, cause });
    }
    throw cause;
  }
  if (!(root instanceof JsonObject)) throw new Df11Error('header-invalid', 'index is not a JSON object', { file });
  const maps = root.entries.filter(([k]) => k === 'weight_map');
  const map = maps[0]?.[1];
  if (maps.length !== 1 || !(map instanceof JsonObject)) {
    throw new Df11Error('header-invalid', 'index needs exactly one "weight_map" object', { file });
  }
  const weightMap: Array<[string, string]> = [];
  const files: string[] = [];
  const seenTensors = new Set<string>();
  const seenFiles = new Set<string>();
  for (const [tensor, shard] of map.entries) {
    if (seenTensors.has(tensor)) throw new Df11Error('duplicate-tensor', 'tensor listed twice in weight_map', { file, tensor });
    seenTensors.add(tensor);
    if (typeof shard !== 'string' || !isPlainFileName(shard)) {
      throw new Df11Error('header-invalid', 'weight_map value is not a plain file name in the model directory', { file, tensor });
    }
    weightMap.push([tensor, shard]);
    if (!seenFiles.has(shard)) {
      seenFiles.add(shard);
      files.push(shard);
    }
  }
  return { weightMap, files };
}

function isPlainFileName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name) && !/^[A-Za-z]:/.test(name);
}
