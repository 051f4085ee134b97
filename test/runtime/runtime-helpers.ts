// Shared setup of the runtime tests: a WebGPU device (the tests fail, never skip, without an
// adapter: on machines without a GPU set VK_ICD_FILENAMES to SwiftShader's ICD), the demo model
// opened as engine files, and its fixtures.
import { readFileSync } from 'node:fs';
import { acquireGpu, describeAdapter, type GpuContext } from '../../src/gpu/device.js';
import { InferenceEngine, type EngineOptions } from '../../src/runtime/engine.js';
import { openModelDir, type OpenedModel } from '../../src/runtime/node/open-model.js';
import { fixturePath, sharedDemoModelDir } from '../helpers/paths.js';

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
export function f32Bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
