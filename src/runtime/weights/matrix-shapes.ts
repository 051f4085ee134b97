// The shapes of a Llama-family model's BF16 matrices, from its config, and the checks applied to a
// checkpoint's matrices before the engine uses them.
import { Df11Error } from '../../errors.js';
import type { ModelConfig } from '../model-config.js';
import type { TensorSource } from '../model-files.js';
import type { LayerMatrix } from '../weight-names.js';

/** [rows, cols] of a layer matrix: rows = output features, cols = input features. */
export function matrixShape(c: ModelConfig, m: LayerMatrix): [number, number] {
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  switch (m) {
    case 'q':
      return [q, c.hiddenSize];
    case 'k':
    case 'v':
      return [kv, c.hiddenSize];
    case 'o':
      return [c.hiddenSize, q];
    case 'gate':
    case 'up':
      return [c.intermediateSize, c.hiddenSize];
    case 'down':
      return [c.hiddenSize, c.intermediateSize];
  }
}

/** [vocab, hidden]: the embedding and the output head. */
export function vocabShape(c: ModelConfig): [number, number] {
  return [c.vocabSize, c.hiddenSize];
}

/**
 * Checks that `name` is a BF16 tensor of shape [rows, cols].
 * @throws Df11Error 'tensor-not-found', 'not-bf16', 'config-invalid' (shape differs from the config).
 */
export function checkBf16Matrix(tensors: TensorSource, name: string, rows: number, cols: number, file: string): void {
  if (!tensors.has(name)) throw new Df11Error('tensor-not-found', 'the model lacks this weight', { file, tensor: name });
  const e = tensors.entry(name);
  if (e.dtype !== 'BF16') throw new Df11Error('not-bf16', `weight is ${e.dtype}; the engine runs BF16 weights`, { file, tensor: name });
  if (e.shape.length !== 2 || e.shape[0] !== rows || e.shape[1] !== cols) {
    throw new Df11Error('config-invalid', `weight has shape [${e.shape.join(', ')}], config.json implies [${rows}, ${cols}]`, { file, tensor: name });
  }
}
