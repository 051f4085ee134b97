// Tied weights in DF11 models. With `tie_word_embeddings` a checkpoint holds no `lm_head.weight`, but
// the reference compressor (and df11 compress, for compatibility with the reference loader) still
// stores `lm_head` as its own unit. Restoring the checkpoint must leave that alias out again.
import type { Df11Model, Df11UnitRef } from '../format/df11-open.js';
import { TIED_EMBEDDING_WEIGHT, TIED_HEAD_WEIGHT } from '../format/df11-units.js';
import { tiedMetadataKey } from './unit-metadata.js';

/**
 * The tensor whose data the restored weight `weight` of unit `u` aliases, or undefined: from the
 * `df11.tied.*` metadata df11 writes, else (files of the reference compressor) the transformers rule
 * `tie_word_embeddings: true` => `lm_head.weight` aliases `model.embed_tokens.weight`.
 */
export function tiedSourceOf(model: Df11Model, u: Df11UnitRef, weight: string): string | undefined {
  const meta = model.safetensors.reader(u.fields.encoded_exponent.name).header.metadata;
  const marked = meta?.[tiedMetadataKey(weight)];
  if (marked !== undefined) return marked === weight ? undefined : marked;
  if (model.config?.['tie_word_embeddings'] === true && weight === TIED_HEAD_WEIGHT) return TIED_EMBEDDING_WEIGHT;
  return undefined;
}
