/**
 * Reading the small files of a model folder (config.json, tokenizers, chat templates) with a size
 * cap, so that a wrong path (a weights file, a device) fails clearly instead of filling memory.
 */
import { readFile, stat } from 'node:fs/promises';
import { Df11Error, type Df11ErrorCode } from '../../errors.js';

/** config.json, tokenizer and template files larger than this are refused. */
export const MAX_SMALL_FILE_BYTES = 64 * 1024 * 1024;

/**
 * The bytes of `file`.
 * @throws Df11Error 'io' when it is missing, not a regular file, or larger than MAX_SMALL_FILE_BYTES.
 */
export async function readSmallFile(file: string): Promise<Uint8Array> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Df11Error('io', 'not a regular file', { file });
    if (st.size > MAX_SMALL_FILE_BYTES) throw new Df11Error('io', `file of ${st.size} bytes exceeds ${MAX_SMALL_FILE_BYTES}`, { file });
    return await readFile(file);
  } catch (cause) {
    if (cause instanceof Df11Error) throw cause;
    throw new Df11Error('io', `cannot read: ${(cause as Error).message}`, { file, cause });
  }
}

/** `file` as UTF-8 text (fatal on invalid UTF-8: `code`). */
export async function readSmallText(file: string, code: Df11ErrorCode): Promise<string> {
  const bytes = await readSmallFile(file);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new Df11Error(code, 'not valid UTF-8 text', { file, cause });
  }
}

/**
 * `file` parsed as a JSON object.
 * @throws Df11Error `code` when it is not valid JSON or not an object; 'io' when unreadable.
 */
export async function readJsonObject(file: string, code: Df11ErrorCode): Promise<Record<string, unknown>> {
  const text = await readSmallText(file, code);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new Df11Error(code, `not valid JSON: ${(cause as Error).message}`, { file, cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Df11Error(code, 'not a JSON object', { file });
  return value as Record<string, unknown>;
}
