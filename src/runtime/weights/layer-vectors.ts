// The small per-layer tensors (RMSNorm weights, q/k/v/o biases, Qwen3 q/k norms) and the final norm:
// always resident on the GPU as f32, whatever the mode (they are a few KB per layer).
import { Df11Error } from '../../errors.js';
import { BUFFER_USAGE, type GpuMemory } from '../gpu-memory.js';
import type { ModelConfig } from '../model-config.js';
import type { TensorSource } from '../model-files.js';
import { toFloat32 } from '../tensor-convert.js';
import { FINAL_NORM_WEIGHT, layerNormWeight, matrixBias } from '../weight-names.js';

export interface LayerVectors {
  inputNorm: GPUBuffer;
  postNorm: GPUBuffer;
  qNorm: GPUBuffer | undefined;
  kNorm: GPUBuffer | undefined;
  qBias: GPUBuffer | undefined;
  kBias: GPUBuffer | undefined;
  vBias: GPUBuffer | undefined;
  oBias: GPUBuffer | undefined;
}

export interface ModelVectors {
  layers: LayerVectors[];
  finalNorm: GPUBuffer;
}

async function upload(memory: GpuMemory, tensors: TensorSource, name: string, elements: number, file: string): Promise<GPUBuffer> {
  if (!tensors.has(name)) throw new Df11Error('tensor-not-found', 'the model lacks this tensor', { file, tensor: name });
  const e = tensors.entry(name);
  if (e.shape.length !== 1 || e.shape[0] !== elements) {
    throw new Df11Error('config-invalid', `tensor has shape [${e.shape.join(', ')}], config.json implies [${elements}]`, { file, tensor: name });
  }
  const values = toFloat32(await tensors.read(name), e.dtype, elements, name);
  return memory.createWith(name, values, BUFFER_USAGE.STORAGE);
}

/**
 * Reads and uploads every small tensor the config calls for.
 * @throws Df11Error 'tensor-not-found', 'config-invalid' (shape), 'not-bf16' (dtype), 'gpu-memory'.
 */
export async function uploadModelVectors(memory: GpuMemory, tensors: TensorSource, c: ModelConfig, file: string): Promise<ModelVectors> {
  const layers: LayerVectors[] = [];
  const qDim = c.heads * c.headDim;
  const kvDim = c.kvHeads * c.headDim;
  for (let l = 0; l < c.layers; l++) {
    layers.push({
      inputNorm: await upload(memory, tensors, layerNormWeight(l, 'input'), c.hiddenSize, file),
      postNorm: await upload(memory, tensors, layerNormWeight(l, 'post'), c.hiddenSize, file),
      qNorm: c.qkNorm ? await upload(memory, tensors, layerNormWeight(l, 'q'), c.headDim, file) : undefined,
      kNorm: c.qkNorm ? await upload(memory, tensors, layerNormWeight(l, 'k'), c.headDim, file) : undefined,
      qBias: c.qkvBias ? await upload(memory, tensors, matrixBias(l, 'q'), qDim, file) : undefined,
      kBias: c.qkvBias ? await upload(memory, tensors, matrixBias(l, 'k'), kvDim, file) : undefined,
      vBias: c.qkvBias ? await upload(memory, tensors, matrixBias(l, 'v'), kvDim, file) : undefined,
      oBias: c.oBias ? await upload(memory, tensors, matrixBias(l, 'o'), c.hiddenSize, file) : undefined,
    });
  }
  return { layers, finalNorm: await upload(memory, tensors, FINAL_NORM_WEIGHT, c.hiddenSize, file) };
}
