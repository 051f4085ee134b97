// Reads a llama2.c legacy (v0) checkpoint and converts it to Hugging Face Llama tensors and config.
//
// Layout (llama2.c `export.py legacy_export`, read by `run.c`): seven little-endian int32
// (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len), then float32 arrays:
// token embedding [vocab, dim], attention RMSNorm [L, dim], wq [L, dim, dim], wk [L, kv_dim, dim],
// wv [L, kv_dim, dim], wo [L, dim, dim], FFN RMSNorm [L, dim], w1 [L, hidden, dim],
// w2 [L, dim, hidden], w3 [L, hidden, dim], final RMSNorm [dim], two unused RoPE tables
// [seq_len, head_size / 2] each, and, when vocab_size is negative, an untied classifier [vocab, dim].
//
// llama2.c applies RoPE to interleaved pairs (x[2i], x[2i+1]); Hugging Face Llama rotates halves
// (x[i], x[i + head_size/2]). transformers' convert_llama_weights_to_hf.py reorders the rows of q and
// k with `permute`: w.view(heads, rows/heads/2, 2, cols).transpose(1, 2).reshape(rows, cols).
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, join } from 'node:path';
import { Df11Error } from '../errors.js';
import { f32ToBf16 } from './float.js';
import { writeSafetensors } from './safetensors-writer.js';

export const LLAMA2C_HEADER_INT32S = 7;
export const LLAMA2C_HEADER_BYTES = LLAMA2C_HEADER_INT32S * 4;
const F32_BYTES = 4;
const BF16_BYTES = 2;
/** Sanity limits on header fields, far above any llama2.c model, that keep all size arithmetic exact. */
const MAX_DIM = 1 << 16;
const MAX_LAYERS = 1 << 10;
const MAX_VOCAB = 1 << 22;
const MAX_SEQ_LEN = 1 << 22;
/** llama2.c's tokenizer conventions (tokenizer.c): ids 1 and 2 are `<s>` and `</s>`. */
const LLAMA2C_BOS_ID = 1;
const LLAMA2C_EOS_ID = 2;
const LLAMA2C_RMS_NORM_EPS = 1e-5;
const LLAMA2C_ROPE_THETA = 10000;

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  /** vocab_size > 0 in the file: the classifier is the embedding. */
  tiedClassifier: boolean;
}

export interface F32Tensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface Llama2cModel {
  header: Llama2cHeader;
  /** Hugging Face Llama tensors in float32, sorted by name, q/k already permuted. */
  tensors: F32Tensor[];
}

/** Hugging Face `LlamaForCausalLM` config.json fields for a llama2.c model. */
export function llama2cHfConfig(h: Llama2cHeader, torchDtype: 'bfloat16' | 'float32' = 'bfloat16'): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: h.dim,
    intermediate_size: h.hiddenDim,
    num_hidden_layers: h.nLayers,
    num_attention_heads: h.nHeads,
    num_key_value_heads: h.nKvHeads,
    vocab_size: h.vocabSize,
    max_position_embeddings: h.seqLen,
    rms_norm_eps: LLAMA2C_RMS_NORM_EPS,
    rope_theta: LLAMA2C_ROPE_THETA,
    hidden_act: 'silu',
    tie_word_embeddings: h.tiedClassifier,
    bos_token_id: LLAMA2C_BOS_ID,
    eos_token_id: LLAMA2C_EOS_ID,
    torch_dtype: torchDtype,
  };
}

/**
 * Parses and validates the seven-int32 header.
 * @throws Df11Error 'truncated-file' when fewer than 28 bytes, 'header-invalid' for an impossible field.
 */
export function parseLlama2cHeader(bytes: Uint8Array, file: string): Llama2cHeader {
  if (bytes.byteLength < LLAMA2C_HEADER_BYTES) {
    throw new Df11Error('truncated-file', `llama2.c checkpoint of ${bytes.byteLength} bytes is shorter than its ${LLAMA2C_HEADER_BYTES}-byte header`, { file });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, LLAMA2C_HEADER_BYTES);
  const f = Array.from({ length: LLAMA2C_HEADER_INT32S }, (_, i) => view.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = f as [number, number, number, number, number, number, number];
  const bad = (what: string): never => {
    throw new Df11Error('header-invalid', `llama2.c header ${what} (dim ${dim}, hidden ${hiddenDim}, layers ${nLayers}, heads ${nHeads}, kv heads ${nKvHeads}, vocab ${vocab}, seq_len ${seqLen})`, { file });
  };
  const inRange = (v: number, max: number): boolean => v > 0 && v <= max;
  if (!inRange(dim, MAX_DIM) || !inRange(hiddenDim, MAX_DIM * 8)) bad('has an impossible dim or hidden_dim');
  if (!inRange(nLayers, MAX_LAYERS)) bad('has an impossible layer count');
  if (!inRange(nHeads, dim) || dim % nHeads !== 0 || (dim / nHeads) % 2 !== 0) bad('has heads that do not split dim into even head sizes');
  if (!inRange(nKvHeads, nHeads) || nHeads % nKvHeads !== 0) bad('has a key/value head count that does not divide the head count');
  if (vocab === 0 || Math.abs(vocab) > MAX_VOCAB) bad('has an impossible vocab_size');
  if (!inRange(seqLen, MAX_SEQ_LEN)) bad('has an impossible seq_len');
  return { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(vocab), seqLen, tiedClassifier: vocab > 0 };
}

/** Float32 values in the file after the header, as the header says there must be. */
export function llama2cFloatCount(h: Llama2cHeader): number {
  const kvDim = (h.dim / h.nHeads) * h.nKvHeads;
  const headSize = h.dim / h.nHeads;
  const perLayer = 2 * h.dim + 2 * h.dim * h.dim + 2 * kvDim * h.dim + 3 * h.hiddenDim * h.dim;
  const count = h.vocabSize * h.dim * (h.tiedClassifier ? 1 : 2) + h.nLayers * perLayer + h.dim + h.seqLen * headSize;
  if (!Number.isSafeInteger(count)) throw new RangeError('llama2.c size overflow');
  return count;
}

/**
 * Parses a whole llama2.c v0 checkpoint into Hugging Face Llama float32 tensors.
 * @throws Df11Error 'truncated-file' / 'header-invalid' (see parseLlama2cHeader), 'truncated-file' when
 *   the file is shorter than its header implies, 'header-invalid' when it has trailing bytes.
 */
export function readLlama2c(bytes: Uint8Array, file: string): Llama2cModel {
  const h = parseLlama2cHeader(bytes, file);
  const floats = llama2cFloatCount(h);
  const want = LLAMA2C_HEADER_BYTES + floats * F32_BYTES;
  if (bytes.byteLength !== want) {
    const code = bytes.byteLength < want ? 'truncated-file' : 'header-invalid';
    throw new Df11Error(code, `llama2.c checkpoint is ${bytes.byteLength} bytes but its header implies ${want}`, { file });
  }
  const all = littleEndianFloats(bytes.subarray(LLAMA2C_HEADER_BYTES));
  let at = 0;
  const take = (count: number): Float32Array => {
    const out = all.subarray(at, at + count);
    at += count;
    return out;
  };
  const { dim, hiddenDim: hidden, nLayers, nHeads, nKvHeads, vocabSize: vocab, seqLen } = h;
  const headSize = dim / nHeads;
  const kvDim = headSize * nKvHeads;
  const embed = take(vocab * dim);
  const attnNorm = take(nLayers * dim);
  const wq = take(nLayers * dim * dim);
  const wk = take(nLayers * kvDim * dim);
  const wv = take(nLayers * kvDim * dim);
  const wo = take(nLayers * dim * dim);
  const ffnNorm = take(nLayers * dim);
  const w1 = take(nLayers * hidden * dim);
  const w2 = take(nLayers * dim * hidden);
  const w3 = take(nLayers * hidden * dim);
  const finalNorm = take(dim);
  take(seqLen * headSize); // freq_cis_real: unused, RoPE is recomputed
  const classifier = h.tiedClassifier ? undefined : take(vocab * dim);

  const layer = (arr: Float32Array, i: number, size: number): Float32Array => arr.subarray(i * size, (i + 1) * size);
  const tensors: F32Tensor[] = [{ name: 'model.embed_tokens.weight', shape: [vocab, dim], data: embed }];
  for (let i = 0; i < nLayers; i++) {
    const p = `model.layers.${i}.`;
    tensors.push(
      { name: `${p}input_layernorm.weight`, shape: [dim], data: layer(attnNorm, i, dim) },
      { name: `${p}self_attn.q_proj.weight`, shape: [dim, dim], data: permuteRotary(layer(wq, i, dim * dim), nHeads, dim, dim) },
      { name: `${p}self_attn.k_proj.weight`, shape: [kvDim, dim], data: permuteRotary(layer(wk, i, kvDim * dim), nKvHeads, kvDim, dim) },
      { name: `${p}self_attn.v_proj.weight`, shape: [kvDim, dim], data: layer(wv, i, kvDim * dim) },
      { name: `${p}self_attn.o_proj.weight`, shape: [dim, dim], data: layer(wo, i, dim * dim) },
      { name: `${p}post_attention_layernorm.weight`, shape: [dim], data: layer(ffnNorm, i, dim) },
      { name: `${p}mlp.gate_proj.weight`, shape: [hidden, dim], data: layer(w1, i, hidden * dim) },
      { name: `${p}mlp.down_proj.weight`, shape: [dim, hidden], data: layer(w2, i, dim * hidden) },
      { name: `${p}mlp.up_proj.weight`, shape: [hidden, dim], data: layer(w3, i, hidden * dim) },
    );
  }
  tensors.push({ name: 'model.norm.weight', shape: [dim], data: finalNorm });
  if (classifier) tensors.push({ name: 'lm_head.weight', shape: [vocab, dim], data: classifier });
  tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { header: h, tensors };
}

/**
 * Reorders the rows of a [rows, cols] q or k weight from interleaved rotary pairs to rotate-half:
 * within each head of `rows / heads` rows, new row `j * half + i` is old row `2 * i + j` (j in {0, 1}).
 */
export function permuteRotary(w: Float32Array, heads: number, rows: number, cols: number): Float32Array {
  const headRows = rows / heads;
  const half = headRows / 2;
  const out = new Float32Array(rows * cols);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * headRows + 2 * i + j) * cols;
        const to = (h * headRows + j * half + i) * cols;
        out.set(w.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

export interface ImportLlama2cOptions {
  /** A llama2.c tokenizer file (e.g. tok512.bin) to copy beside the model under its own name. */
  tokenizerPath?: string;
  /** Weight dtype of the written model.safetensors; default BF16 (round to nearest even). */
  dtype?: 'BF16' | 'F32';
}

/**
 * Converts the llama2.c checkpoint `binPath` into `outDir` (created if needed): `model.safetensors`,
 * `config.json` and, if given, the tokenizer file. Every file is written to a temporary name and
 * renamed, model.safetensors last, so a reader never sees a partial file.
 * @throws Df11Error 'io' when a file cannot be read or written, plus readLlama2c's errors.
 */
export async function importLlama2c(binPath: string, outDir: string, options: ImportLlama2cOptions = {}): Promise<void> {
  const dtype = options.dtype ?? 'BF16';
  let bytes: Uint8Array;
  try {
    bytes = await readFile(binPath);
  } catch (cause) {
    throw new Df11Error('io', 'cannot read the llama2.c checkpoint', { file: binPath, cause });
  }
  const model = readLlama2c(bytes, binPath);
  const tensors = model.tensors.map((t) => ({
    name: t.name,
    dtype,
    shape: t.shape,
    data: dtype === 'BF16' ? bf16Bytes(t.data) : f32Bytes(t.data),
  }));
  const config = llama2cHfConfig(model.header, dtype === 'BF16' ? 'bfloat16' : 'float32');
  try {
    await mkdir(outDir, { recursive: true });
    if (options.tokenizerPath !== undefined) {
      await atomically(join(outDir, basename(options.tokenizerPath)), (tmp) => copyFile(options.tokenizerPath!, tmp));
    }
    await atomically(join(outDir, 'config.json'), (tmp) => writeFile(tmp, JSON.stringify(config, null, 2) + '\n'));
  } catch (cause) {
    throw cause instanceof Df11Error ? cause : new Df11Error('io', `cannot write the imported model: ${String(cause)}`, { file: outDir, cause });
  }
  const source = `${basename(binPath)} (llama2.c v0 checkpoint), q/k permuted to the Hugging Face rotate_half layout`;
  await writeSafetensors(join(outDir, 'model.safetensors'), tensors, { format: 'pt', source });
}

function bf16Bytes(f32: Float32Array): Uint8Array {
  const words = f32ToBf16(f32);
  if (endianness() !== 'LE') swapBytes(new Uint8Array(words.buffer), BF16_BYTES);
  return new Uint8Array(words.buffer);
}

function f32Bytes(f32: Float32Array): Uint8Array {
  const bytes = new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
  if (endianness() === 'LE') return bytes;
  const copy = bytes.slice();
  swapBytes(copy, F32_BYTES);
  return copy;
}

/** A copy of little-endian float32 bytes as a Float32Array (aligned, in host order). */
function littleEndianFloats(bytes: Uint8Array): Float32Array {
  const copy = bytes.slice();
  if (endianness() !== 'LE') swapBytes(copy, F32_BYTES);
  return new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / F32_BYTES);
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

async function atomically(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await write(tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
