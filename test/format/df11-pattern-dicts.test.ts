import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHROMA_DIFFUSERS_PATTERN_DICT,
  FLUX_COMFYUI_PATTERN_DICT,
  FLUX_DIFFUSERS_PATTERN_DICT,
  genericPatternDict,
  LLAMA_PATTERN_DICT,
  publishedPatternDict,
  PUBLISHED_DICT_NAMES,
  selectPatternDict,
} from '../../src/format/pattern-dicts.js';
import { planUnits, type TensorInfo } from '../../src/format/df11-units.js';
import { SafetensorsModel } from '../../src/format/safetensors-model.js';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { info } from './df11-helpers.js';

function moduleWeights(prefix: string, attrs: readonly string[], shape: number[] = [8, 8]): TensorInfo[] {
  return attrs.map((a) => info(`${prefix}.${a}.weight`, shape));
}

function fluxDiffusers(): TensorInfo[] {
  const t: TensorInfo[] = [info('x_embedder.weight', [8, 4]), info('proj_out.weight', [4, 8])];
  for (const i of [0, 1]) {
    t.push(...moduleWeights(`transformer_blocks.${i}`, FLUX_DIFFUSERS_PATTERN_DICT[0]!.attrs), info(`transformer_blocks.${i}.attn.norm_q.weight`, [8]));
    t.push(...moduleWeights(`single_transformer_blocks.${i}`, FLUX_DIFFUSERS_PATTERN_DICT[1]!.attrs));
  }
  return t;
}

function chromaDiffusers(): TensorInfo[] {
  const t: TensorInfo[] = moduleWeights('distilled_guidance_layer', CHROMA_DIFFUSERS_PATTERN_DICT[0]!.attrs);
  for (const i of [0, 1, 2]) {
    t.push(...moduleWeights(`transformer_blocks.${i}`, CHROMA_DIFFUSERS_PATTERN_DICT[1]!.attrs));
    t.push(...moduleWeights(`single_transformer_blocks.${i}`, CHROMA_DIFFUSERS_PATTERN_DICT[2]!.attrs));
  }
  return t;
}

test('published dicts as listed in the spec', () => {
  assert.deepEqual(PUBLISHED_DICT_NAMES, ['llama', 'mistral', 'qwen3-4b', 'chroma-diffusers', 'flux-diffusers', 'flux-comfyui']);
  assert.deepEqual(publishedPatternDict('llama').map((e) => e.pattern), ['model\\.layers\\.\\d+', 'lm_head', 'model.embed_tokens']);
  assert.deepEqual(publishedPatternDict('qwen3-4b').map((e) => e.pattern), ['model\\.layers\\.\\d+']);
  assert.deepEqual(publishedPatternDict('mistral'), publishedPatternDict('llama'));
  const flux = publishedPatternDict('flux-diffusers');
  assert.equal(flux[0]!.attrs.length, 14);
  assert.deepEqual(flux[0]!.attrs.slice(5, 8), ['attn.add_k_proj', 'attn.add_v_proj', 'attn.add_q_proj']);
  assert.deepEqual(flux[1]!.attrs, ['norm.linear', 'proj_mlp', 'proj_out', 'attn.to_q', 'attn.to_k', 'attn.to_v']);
  const chroma = publishedPatternDict('chroma-diffusers');
  assert.deepEqual(chroma.map((e) => e.pattern), ['distilled_guidance_layer', 'transformer_blocks\\.\\d+', 'single_transformer_blocks\\.\\d+']);
  assert.equal(chroma[0]!.attrs.length, 12);
  assert.deepEqual([chroma[0]!.attrs[0], chroma[0]!.attrs[1], chroma[0]!.attrs[10], chroma[0]!.attrs[11]], ['in_proj', 'layers.0.linear_1', 'layers.4.linear_2', 'out_proj']);
  // Chroma = FLUX minus the modulation linears
  assert.deepEqual(chroma[1]!.attrs, flux[0]!.attrs.filter((a) => a !== 'norm1.linear' && a !== 'norm1_context.linear'));
  assert.deepEqual(chroma[2]!.attrs, flux[1]!.attrs.filter((a) => a !== 'norm.linear'));
  assert.deepEqual(publishedPatternDict('flux-comfyui')[1]!.attrs, ['linear1', 'linear2', 'modulation.lin']);
  // copies: editing one does not change the table
  publishedPatternDict('llama')[0]!.attrs.push('x');
  assert.equal(LLAMA_PATTERN_DICT[0]!.attrs.length, 7);
});

test('selection by config and by tensor names', () => {
  assert.equal(selectPatternDict(fluxDiffusers()).name, 'flux-diffusers');
  assert.equal(selectPatternDict(fluxDiffusers(), { _class_name: 'FluxTransformer2DModel' }).reason, 'published flux-diffusers dict: config names FluxTransformer2DModel');
  assert.equal(selectPatternDict(chromaDiffusers()).name, 'chroma-diffusers');
  const comfy: TensorInfo[] = [0, 1].flatMap((i) => [
    ...moduleWeights(`double_blocks.${i}`, FLUX_COMFYUI_PATTERN_DICT[0]!.attrs),
    ...moduleWeights(`single_blocks.${i}`, FLUX_COMFYUI_PATTERN_DICT[1]!.attrs),
  ]);
  assert.equal(selectPatternDict(comfy).name, 'flux-comfyui');
  const llama = [info('model.embed_tokens.weight', [10, 8]), info('lm_head.weight', [10, 8]), ...moduleWeights('model.layers.0', LLAMA_PATTERN_DICT[0]!.attrs)];
  assert.equal(selectPatternDict(llama).name, 'llama');
  assert.equal(selectPatternDict(llama, { architectures: ['MistralForCausalLM'] }).name, 'mistral');
  // a Llama config whose tensors do not fit falls back to the generic dict, saying why
  const broken = llama.filter((t) => !t.name.includes('gate_proj'));
  const choice = selectPatternDict(broken, { architectures: ['LlamaForCausalLM'] });
  assert.equal(choice.name, 'generic');
  assert.match(choice.reason, /llama did not fit/);
});

/** A made-up diffusion transformer in shuffled header order. */
function diffusionLike(): TensorInfo[] {
  const t: TensorInfo[] = [];
  for (let i = 0; i < 12; i++) {
    const p = `net.blocks.${i}`;
    t.push(info(`${p}.attn.qkv.weight`, [96, 32]), info(`${p}.attn.qkv.bias`, [96]), info(`${p}.attn.proj.weight`, [32, 32]), info(`${p}.norm1.weight`, [32]));
    if (i !== 11) t.push(info(`${p}.mlp.fc1.weight`, [128, 32]), info(`${p}.mlp.fc2.weight`, [32, 128]));
    t.push(info(`${p}.attn.to_out.0.weight`, [32, 32]));
  }
  for (let i = 0; i < 3; i++) t.push(info(`net.refiner.${i}.lin.weight`, [32, 32]));
  t.push(
    info('time_embed.0.weight', [32, 16]),
    info('time_embed.2.weight', [32, 32]),
    info('final.proj.weight', [64, 32], 'F32'),
    info('down.0.conv.weight', [32, 16, 3, 3]),
    info('single.0.lin.weight', [32, 32]),
    info('pos_embed.weight', [1024, 1024]),
    info('tiny.weight', [4, 4]),
  );
  // deterministic shuffle
  return t.map((x, i) => [x, (i * 7919) % 101] as const).sort((a, b) => a[1] - b[1]).map((x) => x[0]);
}

test('generic dict: repeated numbered blocks, heterogeneous blocks, large standalone weights', () => {
  const tensors = diffusionLike();
  const dict = genericPatternDict(tensors);
  const blockAttrs = ['attn.proj', 'attn.qkv', 'attn.to_out.0', 'mlp.fc1', 'mlp.fc2'];
  assert.deepEqual(dict, [
    { pattern: 'net\\.blocks\\.(?:0|1|2|3|4|5|6|7|8|9|10)', attrs: blockAttrs },
    { pattern: 'net\\.blocks\\.(?:11)', attrs: ['attn.proj', 'attn.qkv', 'attn.to_out.0'] },
    { pattern: 'net\\.refiner\\.\\d+', attrs: ['lin'] },
    { pattern: 'pos_embed', attrs: [] },
  ]);
  // independent of header order
  assert.deepEqual(genericPatternDict([...tensors].reverse()), dict);
  const plan = planUnits(tensors, dict);
  assert.deepEqual(plan.units.map((u) => u.path).slice(0, 3), ['net.blocks.0', 'net.blocks.1', 'net.blocks.2']);
  assert.equal(plan.units.length, 12 + 3 + 1);
  assert.deepEqual(plan.units[0]!.extraTensors.sort(), ['net.blocks.0.attn.qkv.bias', 'net.blocks.0.norm1.weight']);
  assert.ok(plan.remainder.includes('final.proj.weight') && plan.remainder.includes('time_embed.0.weight') && plan.remainder.includes('single.0.lin.weight'));
  // a lower threshold turns the small loose weights into units too
  const small = genericPatternDict(tensors, { minStandaloneNumel: 16 });
  assert.deepEqual(
    small.slice(3).map((e) => e.pattern),
    ['pos_embed', 'single\\.0\\.lin', 'time_embed\\.0', 'time_embed\\.2', 'tiny'],
  );
  assert.equal(planUnits(tensors, small).units.length, 12 + 3 + 5);
  // a uniform family gets \d+; blocks without any weight force an explicit list
  const uniform = [0, 1, 2].map((i) => info(`layers.${i}.w.weight`, [4, 4]));
  assert.deepEqual(genericPatternDict(uniform), [{ pattern: 'layers\\.\\d+', attrs: ['w'] }]);
  assert.deepEqual(genericPatternDict([...uniform, info('layers.3.norm.weight', [4])]), [{ pattern: 'layers\\.(?:0|1|2)', attrs: ['w'] }]);
  assert.deepEqual(genericPatternDict([]), []);
});

test('generic dict compresses a real diffusers-style FLUX header as well as the published one', () => {
  const dict = genericPatternDict(fluxDiffusers());
  assert.deepEqual(dict.map((e) => e.pattern), ['single_transformer_blocks\\.\\d+', 'transformer_blocks\\.\\d+']);
  assert.deepEqual(new Set(dict[1]!.attrs), new Set(FLUX_DIFFUSERS_PATTERN_DICT[0]!.attrs));
});

const demoDir = sharedDemoModelDir();
test('demo model selects the published Llama dict from its config and from its names', async () => {
  const config = JSON.parse(readFileSync(join(demoDir, 'config.json'), 'utf8')) as unknown;
  const st = await SafetensorsModel.open(join(demoDir, 'model.safetensors'));
  try {
    const tensors = st.names().map((n) => st.entry(n));
    const choice = selectPatternDict(tensors, config);
    assert.equal(choice.name, 'llama');
    assert.match(choice.reason, /LlamaForCausalLM/);
    assert.deepEqual(choice.dict, LLAMA_PATTERN_DICT);
    assert.equal(selectPatternDict(tensors).name, 'llama');
  } finally {
    await st.close();
  }
});
