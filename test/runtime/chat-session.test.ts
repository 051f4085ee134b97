// ChatSession on the demo model (llama2.c tokenizer, plain template): a second turn that reuses the
// KV cache gives the tokens a fresh prefill of the same conversation gives; a template whose text
// changes earlier turns re-prefills; stop tokens, /reset and a conversation too long for the cache.
// Runs on whatever adapter the machine has (SwiftShader without a GPU) and fails when there is none.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { ChatSession, type ChatSessionOptions } from '../../src/runtime/chat-session.js';
import { ChatTemplate } from '../../src/runtime/chat-template.js';
import { generate } from '../../src/runtime/generate.js';
import { loadTokenizer } from '../../src/runtime/node/open-model.js';
import type { TextTokenizer } from '../../src/runtime/tokenizer.js';
import { demoEngine } from './runtime-helpers.js';

const REPLY_TOKENS = 5;
/** A template that numbers the conversation in its first line, so no turn extends the one before. */
const COUNTING_TEMPLATE = "Turns: {{ messages|length }}\n{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

describe('ChatSession on stories260K', () => {
  let ctx: Awaited<ReturnType<typeof demoEngine>>;
  let tok: TextTokenizer;
  let base: ChatSessionOptions;
  before(async () => {
    ctx = await demoEngine({ mode: 'bf16', contextTokens: 512 });
    tok = await loadTokenizer(ctx.model.dir, ctx.engine.config.vocabSize);
    base = { tokenizer: tok, template: ChatTemplate.plain(), addBos: true, stopTokens: tok.eosIds };
  });
  after(async () => ctx?.close());

  /** The greedy reply of a fresh prefill of `prompt`. */
  async function freshReply(prompt: number[]): Promise<number[]> {
    return (await generate(ctx.engine, prompt, { maxTokens: REPLY_TOKENS, stopTokens: tok.eosIds })).tokens;
  }

  it('keeps the KV cache when the conversation extends, with the tokens of a fresh prefill', async () => {
    const chat = new ChatSession(ctx.engine, base);
    const pieces: string[] = [];
    const first = await chat.send('Tell me a story.', { maxTokens: REPLY_TOKENS, onText: (t) => pieces.push(t) });
    assert.equal(first.reusedTokens, 0);
    assert.equal(first.stopReason, 'max-tokens');
    assert.equal(first.tokens.length, REPLY_TOKENS);
    assert.equal(first.text, pieces.join(''));
    const second = await chat.send('What happened next?', { maxTokens: REPLY_TOKENS });
    assert.equal(second.reusedTokens, first.promptTokens + first.tokens.length - 1, 'all of the first turn came from the cache');
    assert.ok(second.promptTokens > second.reusedTokens);
    assert.ok(Number.isFinite(second.decodeTokensPerSecond) && second.decodeTokensPerSecond > 0);
    assert.deepEqual(chat.history, [
      { role: 'user', content: 'Tell me a story.' },
      { role: 'assistant', content: first.text },
      { role: 'user', content: 'What happened next?' },
      { role: 'assistant', content: second.text },
    ]);
    // the same conversations prefilled from scratch (generate() resets the engine)
    const prompt1 = chat.promptIds(chat.history.slice(0, 1));
    const prompt2 = chat.promptIds(chat.history.slice(0, 3));
    assert.equal(prompt1.length, first.promptTokens);
    assert.equal(prompt2.length, second.promptTokens);
    assert.equal(first.text, tok.decode(first.tokens, prompt1.at(-1)));
    assert.deepEqual(second.tokens, await freshReply(prompt2));
    assert.deepEqual(first.tokens, await freshReply(prompt1));
  });

  it('re-prefills when the rendered conversation does not extend the cached one, and after reset', async () => {
    const template = ChatTemplate.parse(COUNTING_TEMPLATE, 'counting');
    const chat = new ChatSession(ctx.engine, { ...base, template });
    await chat.send('Hello.', { maxTokens: REPLY_TOKENS });
    const second = await chat.send('Go on.', { maxTokens: REPLY_TOKENS });
    assert.equal(second.reusedTokens, 0);
    const prompt = chat.promptIds([...chat.history.slice(0, 3)]);
    assert.equal(prompt.length, second.promptTokens);
    assert.deepEqual(second.tokens, await freshReply(prompt));

    const plain = new ChatSession(ctx.engine, { ...base, system: 'A story.' });
    const a = await plain.send('Hello.', { maxTokens: REPLY_TOKENS });
    plain.reset();
    assert.deepEqual(plain.history, [{ role: 'system', content: 'A story.' }]);
    const b = await plain.send('Hello.', { maxTokens: REPLY_TOKENS });
    assert.equal(b.reusedTokens, 0);
    assert.deepEqual(b.tokens, a.tokens);
  });

  it('stops at a stop token, which is not part of the reply', async () => {
    const probe = new ChatSession(ctx.engine, base);
    const free = await probe.send('Hi.', { maxTokens: 2 });
    const chat = new ChatSession(ctx.engine, { ...base, stopTokens: [free.tokens[1]!] });
    const r = await chat.send('Hi.', { maxTokens: REPLY_TOKENS });
    assert.equal(r.stopReason, 'stop-token');
    assert.deepEqual(r.tokens, free.tokens);
    assert.equal(r.text, tok.decode([free.tokens[0]!], chat.promptIds([{ role: 'user', content: 'Hi.' }]).at(-1)));
  });

  it('refuses a conversation longer than the context and keeps the history as it was', async () => {
    const chat = new ChatSession(ctx.engine, base);
    const long = 'The little dog ran and played in the park. '.repeat(60);
    await assert.rejects(chat.send(long, { maxTokens: 1 }), (e: unknown) => e instanceof Df11Error && e.code === 'generation' && /KV cache holds only \d+ positions/.test(e.message));
    assert.deepEqual(chat.history, []);
    const ok = await chat.send('Hi.', { maxTokens: 1 });
    assert.equal(ok.tokens.length, 1);
    const aborted = new AbortController();
    aborted.abort();
    const none = await chat.send('Hi.', { maxTokens: 3, signal: aborted.signal });
    assert.equal(none.stopReason, 'aborted');
    assert.deepEqual(none.tokens, []);
  });
});
