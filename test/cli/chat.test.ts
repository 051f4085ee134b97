// `df11 chat` end to end (a child process fed through a pipe): on the demo model (llama2.c tokenizer,
// plain fallback template) two turns, /reset and /exit; on the demo weights with a ChatML
// tokenizer.json folder written by the test, the template, EOS ids from generation_config.json and
// the KV cache kept across turns; `df11 generate` picks tokenizer.json. Needs a WebGPU adapter
// (SwiftShader without a GPU) and fails without one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChatTemplate, type ChatMessage } from '../../src/runtime/chat-template.js';
import { HfTokenizer } from '../../src/runtime/tokenizer-hf.js';
import { CHATML_TEMPLATE, writeChatMlTokenizerDir } from '../helpers/hf-tokenizer-fixture.js';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { CLI_MAIN, runDf11, tempDir, type CliResult } from './cli-harness.js';

const DEMO_VOCAB = 512;

/** Runs `df11 ...args` with `input` on its standard input (a pipe). */
function runWithInput(args: readonly string[], input: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: { ...process.env, NO_COLOR: '1', HF_HUB_OFFLINE: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** [prompt tokens, tokens from the cache, generated, stop reason] of each "turn N:" line. */
function turns(stderr: string): [number, number, number, string][] {
  return [...stderr.matchAll(/^turn (\d+): (\d+) prompt tokens \((\d+) from the KV cache\), (\d+) generated \(stop: ([a-z-]+)\), time to first token [0-9.]+ ms, (?:[0-9.]+|n\/a) tok\/s$/gm)].map((m, i) => {
    assert.equal(Number(m[1]), i + 1);
    return [Number(m[2]), Number(m[3]), Number(m[4]), m[5]!];
  });
}

describe('df11 chat', () => {
  it('chats with the demo model through a pipe: plain template, KV cache kept, /reset and /exit', async () => {
    const input = 'Tell me a story.\n\n/bogus\nWhat happened next?\n/reset\nTell me a story.\n/exit\nNever read.\n';
    const r = await runWithInput(['chat', sharedDemoModelDir(), '--max-tokens', '6'], input);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^note: the model has no chat template; using plain text turns/m);
    assert.match(r.stderr, /^adapter: .+/m);
    assert.match(r.stderr, /chat template: plain$/m);
    assert.match(r.stderr, /^unknown command \/bogus /m);
    assert.match(r.stderr, /^conversation cleared$/m);
    const replies = r.stdout.split('\n');
    assert.equal(replies.length, 4, JSON.stringify(r.stdout));
    assert.equal(replies[3], '');
    assert.ok(replies.slice(0, 3).every((line) => line.length > 0 && line === line.trimStart()), JSON.stringify(replies));
    assert.equal(replies[2], replies[0], 'after /reset the same message gets the same greedy reply');
    assert.ok(!r.stdout.includes('> '), 'no prompt when reading a pipe');
    const t = turns(r.stderr);
    assert.equal(t.length, 3, r.stderr);
    const [one, two, three] = t as [[number, number, number, string], [number, number, number, string], [number, number, number, string]];
    assert.deepEqual(one.slice(1), [0, 6, 'max-tokens']);
    assert.equal(two[1], one[0] + one[2] - 1, 'turn 2 runs only its new tokens');
    assert.ok(two[0] > two[1]);
    assert.deepEqual(three, one);
  });

  it('uses tokenizer.json, its chat template and generation_config.json EOS ids, and keeps the cache', async () => {
    const t = await tempDir('df11-chat-');
    try {
      const demo = sharedDemoModelDir();
      for (const f of ['config.json', 'model.safetensors']) await symlink(join(demo, f), join(t.dir, f));
      // every id ends generation: each reply is empty and the cache holds exactly the prompt
      const allIds = Array.from({ length: DEMO_VOCAB }, (_, i) => i);
      const fx = await writeChatMlTokenizerDir(t.dir, { eosIds: allIds, vocabSize: DEMO_VOCAB });
      const r = await runWithInput(['chat', t.dir, '--system', 'Be brief.', '--max-tokens', '4'], 'Hello!\nMore?\n');
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /no chat template/);
      assert.match(r.stderr, /chat template: default$/m);
      assert.equal(r.stdout, '\n\n');
      const tok = HfTokenizer.fromFiles({ tokenizer: fx.json, tokenizerConfig: { eos_token: '<|im_end|>' } }, DEMO_VOCAB);
      const template = ChatTemplate.parse(CHATML_TEMPLATE, 'default');
      const count = (messages: ChatMessage[]): number => tok.encode(template.render(messages, { addGenerationPrompt: true })).length;
      const first: ChatMessage[] = [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello!' },
      ];
      const p1 = count(first);
      const p2 = count([...first, { role: 'assistant', content: '' }, { role: 'user', content: 'More?' }]);
      assert.deepEqual(turns(r.stderr), [
        [p1, 0, 1, 'stop-token'],
        [p2, p1, 1, 'stop-token'],
      ]);
    } finally {
      await t.cleanup();
    }
  });

  it('df11 generate reads tokenizer.json when the folder has one', async () => {
    const t = await tempDir('df11-chat-');
    try {
      const demo = sharedDemoModelDir();
      for (const f of ['config.json', 'model.safetensors']) await symlink(join(demo, f), join(t.dir, f));
      const fx = await writeChatMlTokenizerDir(t.dir, { vocabSize: DEMO_VOCAB });
      const prompt = 'Hello there, café €';
      const r = await runDf11(['generate', t.dir, '--prompt', prompt, '--max-tokens', '3']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.startsWith(prompt), r.stdout);
      const tok = HfTokenizer.fromFiles({ tokenizer: fx.json, modelConfig: { eos_token_id: 2 } }, DEMO_VOCAB);
      // The prompt as the tokenizer encodes it with its own special tokens: ChatML adds no BOS, as transformers.
      assert.equal(tok.encode(prompt, { bos: true }).length, tok.encode(prompt).length);
      assert.match(r.stderr, new RegExp(`\\(prompt ${tok.encode(prompt, { bos: true }).length}, stop: `));
      await writeFile(join(t.dir, 'tokenizer.json'), '{"model": {"type": "BPE"');
      const bad = await runDf11(['generate', t.dir, '--max-tokens', '1']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /error: tokenizer-invalid: not valid JSON.*tokenizer\.json\)$/m);
    } finally {
      await t.cleanup();
    }
  });

  it('refuses conflicting template options with a usage error', async () => {
    const r = await runWithInput(['chat', sharedDemoModelDir(), '--chat-template', 'x', '--chat-template-file', 'y'], '');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: usage: give --chat-template or --chat-template-file, not both/m);
  });
});
