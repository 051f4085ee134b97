// Shared setup of the runtime tests: a WebGPU device (the tests fail, never skip, without an
// adapter: on machines without a GPU set VK_ICD_FILENAMES to SwiftShader's ICD), the demo model
// opened as engine files, and its fixtures.
import { readFileSync } from 'node:fs';
import { acquireGpu, describeAdapter, type GpuContext } from '../../src/gpu/device.js';
import assert from 'node:assert/strict';
import { InferenceEngine, type EngineOptions } from '../../src/runtime/engine.js';
import { BUFFER_USAGE, type GpuMemory } from '../../src/runtime/gpu-memory.js';
import type { ModelFiles } from '../../src/runtime/model-files.js';
import { openModelDir, type OpenedModel } from '../../src/runtime/node/open-model.js';
import { fixturePath, sharedDemoModelDir } from '../helpers/paths.js';

const MAP_MODE_READ = 0x1;

let shared: Promise<GpuContext> | undefined;

/** One device per test process; logs the adapter so test output says what ran. */
export function testGpu(): Promise<GpuContext> {
  shared ??= acquireGpu().then((gpu) => {
    process.stderr.write(`# runtime tests on ${describeAdapter(gpu.adapter)}\n`);
    return gpu;
  });
  return shared;
}

export async function openDemoModel(): Promise<OpenedModel> {
  return openModelDir(sharedDemoModelDir());
}

/** An engine on the demo model (BF16 safetensors) with `options`; close both when done. */
export async function demoEngine(options: EngineOptions = {}): Promise<{ engine: InferenceEngine; model: OpenedModel; close(): Promise<void> }> {
  const gpu = await testGpu();
  const model = await openDemoModel();
  const engine = await InferenceEngine.create(gpu, model.files, options);
  return {
    engine,
    model,
    close: async () => {
      engine.destroy();
      await model.close();
    },
  };
}

export interface GreedyFixture {
  bos: number;
  steps: number;
  tokens: number[];
  text: string;
}

export interface PromptCase {
  text: string;
  promptTokens: number[];
  greedy: number[];
}

export function greedyFixture(): GreedyFixture {
  return JSON.parse(readFileSync(fixturePath('stories260K-greedy-120.json'), 'utf8')) as GreedyFixture;
}

export function promptFixture(): PromptCase[] {
  return (JSON.parse(readFileSync(fixturePath('stories260K-prompts.json'), 'utf8')) as { cases: PromptCase[] }).cases;
}

/** The bytes of a Float32Array, for exact comparisons (NaN-safe, sign-of-zero-safe). */
/** Copies `buffer` (COPY_SRC usage) to a mappable buffer of `memory` and returns its f32 values. */
export async function readF32(device: GPUDevice, memory: GpuMemory, buffer: GPUBuffer): Promise<Float32Array> {
  const read = memory.create('test.readback', buffer.size, BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST);
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, read, 0, buffer.size);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(MAP_MODE_READ);
  const out = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  memory.destroy(read);
  return out;
}

export function f32Bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Greedy decode steps after the prompt in logitsTrace. */
export const DECODE_STEPS = 3;

/**
 * Logits (as bytes) after the first fixture prompt (one prefill pass) and after DECODE_STEPS greedy
 * steps, of the model in `source`: a folder, model files, or undefined for the BF16 demo model.
 */
export async function logitsTrace(source: string | ModelFiles | undefined, options: EngineOptions): Promise<{ bytes: Buffer[]; tokens: number[]; weights: string; peakBytes: number }> {
  const gpu = await testGpu();
  const opened = source === undefined ? await openDemoModel() : typeof source === 'string' ? await openModelDir(source) : undefined;
  const files = opened?.files ?? (source as ModelFiles);
  try {
    const engine = await InferenceEngine.create(gpu, files, { contextTokens: 32, ...options });
    try {
      const prompt = promptFixture()[0]!.promptTokens;
      const bytes: Buffer[] = [];
      const tokens: number[] = [];
      let r = await engine.forward(prompt, { logits: true });
      for (let i = 0; ; i++) {
        bytes.push(Buffer.from(f32Bytes(r.logits!)));
        tokens.push(r.argmax);
        if (i === DECODE_STEPS) break;
        r = await engine.forward([r.argmax], { logits: true });
      }
      return { bytes, tokens, weights: engine.describeWeights(), peakBytes: engine.memory.peakBytes };
    } finally {
      engine.destroy();
    }
  } finally {
    await opened?.close();
  }
}

export function assertSameLogits(a: readonly Buffer[], b: readonly Buffer[]): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(x.equals(b[i]!), `logits of step ${i} differ`));
}
