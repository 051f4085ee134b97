// Shared pieces of the CLI tests: running the compiled `df11` as a child process, temp folders,
// synthetic Llama-like BF16 models (single file or sharded with index.json) and tensor comparison.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSafetensors } from '../../src/format/safetensors-writer.js';
import { SafetensorsModel } from '../../src/format/safetensors-model.js';
import { syntheticBf16Weights } from '../../src/synthetic/weights.js';

/** The compiled CLI entry point of the same build as this test file. */
export const CLI_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node main.js ...args` and collects its output. */
export function runDf11(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: { ...process.env, NO_COLOR: '1', HF_HUB_OFFLINE: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A fresh temp folder; call the returned function to remove it. */
export async function tempDir(prefix = 'df11-cli-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface SyntheticLlama {
  layers: number;
  hidden: number;
  intermediate: number;
  vocab: number;
  /** Files to spread the tensors over; > 1 writes model-0000i-of-0000n.safetensors + index.json. */
  shards?: number;
  seed?: number;
}

const BF16_BYTES = 2;

/** Writes a Llama-shaped BF16 model (normal(0, 0.02) weights, tied embeddings) and its config.json. */
export async function writeSyntheticLlama(dir: string, m: SyntheticLlama): Promise<void> {
  await mkdir(dir, { recursive: true });
  const kv = m.hidden / 2;
  const shapes: [string, number[]][] = [['model.embed_tokens.weight', [m.vocab, m.hidden]]];
  for (let l = 0; l < m.layers; l++) {
    const p = `model.layers.${l}`;
    shapes.push(
      [`${p}.input_layernorm.weight`, [m.hidden]],
      [`${p}.self_attn.q_proj.weight`, [m.hidden, m.hidden]],
      [`${p}.self_attn.k_proj.weight`, [kv, m.hidden]],
      [`${p}.self_attn.v_proj.weight`, [kv, m.hidden]],
      [`${p}.self_attn.o_proj.weight`, [m.hidden, m.hidden]],
      [`${p}.post_attention_layernorm.weight`, [m.hidden]],
      [`${p}.mlp.gate_proj.weight`, [m.intermediate, m.hidden]],
      [`${p}.mlp.up_proj.weight`, [m.intermediate, m.hidden]],
      [`${p}.mlp.down_proj.weight`, [m.hidden, m.intermediate]],
    );
  }
  shapes.push(['model.norm.weight', [m.hidden]]);
  let seed = m.seed ?? 1;
  const tensors = shapes.map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const w = syntheticBf16Weights(n, { seed: seed++, std: shape.length === 1 ? 1 : 0.02 });
    return { name, dtype: 'BF16' as const, shape, data: new Uint8Array(w.buffer, 0, n * BF16_BYTES) };
  });
  const shards = m.shards ?? 1;
  if (shards === 1) {
    await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  } else {
    const per = Math.ceil(tensors.length / shards);
    const weightMap: Record<string, string> = {};
    let total = 0;
    for (let s = 0; s < shards; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = tensors.slice(s * per, (s + 1) * per);
      for (const t of part) {
        weightMap[t.name] = file;
        total += t.data.length;
      }
      await writeSafetensors(join(dir, file), part, { format: 'pt' });
    }
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }));
  }
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: m.hidden,
    intermediate_size: m.intermediate,
    num_hidden_layers: m.layers,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: m.vocab,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
}

/** Opens a model folder as a BF16 checkpoint is read: index shards, else model.safetensors, else the path. */
function openModel(path: string): Promise<SafetensorsModel> {
  const single = join(path, 'model.safetensors');
  const useSingle = !existsSync(join(path, 'model.safetensors.index.json')) && existsSync(single);
  return SafetensorsModel.open(useSingle ? single : path);
}

/** Asserts both models hold exactly the same tensors: names, dtypes, shapes and bytes. */
export async function assertSameModelTensors(actualPath: string, expectedPath: string): Promise<number> {
  const actual = await openModel(actualPath);
  const expected = await openModel(expectedPath);
  try {
    assert.deepEqual(actual.names().sort(), expected.names().sort(), 'tensor names');
    for (const name of expected.names()) {
      const a = actual.entry(name);
      const e = expected.entry(name);
      assert.equal(a.dtype, e.dtype, `${name} dtype`);
      assert.deepEqual(a.shape, e.shape, `${name} shape`);
      assert.ok(Buffer.from(await actual.read(name)).equals(Buffer.from(await expected.read(name))), `${name} bytes differ`);
    }
    return expected.names().length;
  } finally {
    await actual.close();
    await expected.close();
  }
}
