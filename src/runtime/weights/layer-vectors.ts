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
  /** The q, k and v biases back to back, for the q/k/v products in one dispatch. */
  qkvBias: GPUBuffer | undefined;
  oBias: GPUBuffer | undefined;
}

export interface ModelVectors {
  layers: LayerVectors[];
  finalNorm: GPUBuffer;
}

async function read(tensors: TensorSource, name: string, elements: number, file: string): Promise<Float32Array> {
  if (!tensors.has(name)) throw new Df11Error('tensor-not-found', 'the model lacks this tensor', { file, tensor: name });
  const e = tensors.entry(name);
  if (e.shape.length !== 1 || e.shape[0] !== elements) {
    throw new Df11Error('config-invalid', `tensor has shape [${e.shape.join(', ')}], config.json implies [${elements}]`, { file, tensor: name });
  }
  return toFloat32(await tensors.read(name), e.dtype, elements, name);
}

async function upload(memory: GpuMemory, tensors: TensorSource, name: string, elements: number, file: string): Promise<GPUBuffer> {
  return memory.createWith(name, await read(tensors, name, elements, file), BUFFER_USAGE.STORAGE);
}

/** The q, k and v biases of layer l, each alone and back to back. */
async function qkvBiases(memory: GpuMemory, tensors: TensorSource, l: number, dims: [number, number, number], file: string): Promise<Pick<LayerVectors, 'qBias' | 'kBias' | 'vBias' | 'qkvBias'>> {
  const parts = [
    await read(tensors, matrixBias(l, 'q'), dims[0], file),
    await read(tensors, matrixBias(l, 'k'), dims[1], file),
    await read(tensors, matrixBias(l, 'v'), dims[2], file),
  ];
  const all = new Float32Array(dims[0] + dims[1] + dims[2]);
  all.set(parts[0]!, 0);
  all.set(parts[1]!, dims[0]);
  all.set(parts[2]!, dims[0] + dims[1]);
  return {
    qBias: memory.createWith(matrixBias(l, 'q'), parts[0]!, BUFFER_USAGE.STORAGE),
    kBias: memory.createWith(matrixBias(l, 'k'), parts[1]!, BUFFER_USAGE.STORAGE),
    vBias: memory.createWith(matrixBias(l, 'v'), parts[2]!, BUFFER_USAGE.STORAGE),
    qkvBias: memory.createWith(`layer ${l} q/k/v biases`, all, BUFFER_USAGE.STORAGE),
  };
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
      ...(c.qkvBias ? await qkvBiases(memory, tensors, l, [qDim, kvDim, kvDim], file) : { qBias: undefined, kBias: undefined, vBias: undefined, qkvBias: undefined }),
      oBias: c.oBias ? await upload(memory, tensors, matrixBias(l, 'o'), c.hiddenSize, file) : undefined,
    });
  }
  return { layers, finalNorm: await upload(memory, tensors, FINAL_NORM_WEIGHT, c.hiddenSize, file) };
}
