// Extra `__metadata__` entries df11 writes into each unit's shard (all optional for readers):
// - `df11.sha256.<unit path>`: hex SHA-256 of the unit's BF16 bytes in element order (the layout's key);
// - `df11.shapes.<unit path>`: JSON array of the unit's piece shapes in attr order, e.g.
//   `[[64,64],[32,64]]`, so decompress restores exact shapes for any architecture. Files without it
//   (the reference's) fall back to shapes derived from config.json (df11-format.md §9);
// - `df11.tied.<weight name>`: the weight is a tied alias (e.g. `lm_head.weight` of a model with
//   `tie_word_embeddings`) whose data is the named tensor; it is compressed as its own unit, as the
//   reference compressor does, but not restored by decompress (the checkpoint never held it).
import { Df11Error } from '../errors.js';

export const SHAPES_KEY_PREFIX = 'df11.shapes.';
export const TIED_KEY_PREFIX = 'df11.tied.';
/** The `format` metadata transformers expects in PyTorch safetensors files. */
export const PT_FORMAT_METADATA: Readonly<Record<string, string>> = { format: 'pt' };
/** Longest accepted shapes entry, in characters (a unit has at most a few dozen pieces). */
const MAX_SHAPES_TEXT = 64 * 1024;
const MAX_RANK = 8;

export function shapesMetadataKey(unitPath: string): string {
  return SHAPES_KEY_PREFIX + unitPath;
}

export function tiedMetadataKey(weightName: string): string {
  return TIED_KEY_PREFIX + weightName;
}

export function encodeShapes(shapes: readonly (readonly number[])[]): string {
  return JSON.stringify(shapes.map((s) => [...s]));
}

/**
 * Parses a `df11.shapes.*` value: an array of `pieces` shapes, each of 1 to MAX_RANK positive safe
 * integers. Throws Df11Error unit-invalid naming the file and unit otherwise.
 */
export function parseShapes(text: string, pieces: number, unitPath: string, file?: string): number[][] {
  const bad = (why: string): never => {
    throw new Df11Error('unit-invalid', `metadata ${shapesMetadataKey(unitPath)} ${why}`, { file, tensor: unitPath });
  };
  if (text.length > MAX_SHAPES_TEXT) bad(`is longer than ${MAX_SHAPES_TEXT} characters`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    bad('is not JSON');
  }
  if (!Array.isArray(value) || value.length !== pieces) return bad(`must list ${pieces} shape(s)`);
  return value.map((s: unknown) => {
    if (!Array.isArray(s) || s.length === 0 || s.length > MAX_RANK) return bad(`holds a shape that is not an array of 1 to ${MAX_RANK} dimensions`);
    return s.map((d: unknown) => (Number.isSafeInteger(d) && (d as number) > 0 ? (d as number) : bad(`holds a dimension that is not a positive integer`)));
  });
}
