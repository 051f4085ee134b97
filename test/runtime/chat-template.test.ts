// Chat templates: a Llama-3-style and a ChatML (Qwen) template written here, rendered and tokenized
// with the fixture tokenizers; template selection from tokenizer_config.json and
// chat_template.jinja; the plain fallback; errors.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { ChatTemplate, PLAIN_CHAT_TEMPLATE, selectChatTemplate, type ChatMessage } from '../../src/runtime/chat-template.js';
import { loadChatTemplate } from '../../src/runtime/node/hf-tokenizer-files.js';
import { HfTokenizer } from '../../src/runtime/tokenizer-hf.js';
import { tempDir } from '../cli/cli-harness.js';
import { byteLevelTokenizer, CHATML_SPECIALS, CHATML_TEMPLATE, LLAMA3_SPECIALS, LLAMA3_TEMPLATE } from '../helpers/hf-tokenizer-fixture.js';

const MODEL_VOCAB = 512;
const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: ' Hello! ' },
  { role: 'assistant', content: 'Hi, café? 😀' },
  { role: 'user', content: 'Tell me a story.' },
];

function isCode(code: string, message?: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof Df11Error && e.code === code && (message === undefined || message.test(e.message));
}

describe('chat templates', () => {
  it('renders a Llama-3-style template and tokenizes it with its special tokens', () => {
    const fx = byteLevelTokenizer({ specials: LLAMA3_SPECIALS, bos: '<|begin_of_text|>' });
    const tok = HfTokenizer.fromFiles({ tokenizer: fx.json, tokenizerConfig: { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' } }, MODEL_VOCAB);
    const t = ChatTemplate.parse(LLAMA3_TEMPLATE, 'default');
    const text = t.render(CONVERSATION, { addGenerationPrompt: true, bosToken: tok.bosToken, eosToken: tok.eosToken });
    const header = (role: string): string => `<|start_header_id|>${role}<|end_header_id|>\n\n`;
    assert.equal(
      text,
      `<|begin_of_text|>${header('system')}Be brief.<|eot_id|>${header('user')}Hello!<|eot_id|>${header('assistant')}Hi, café? 😀<|eot_id|>` +
        `${header('user')}Tell me a story.<|eot_id|>${header('assistant')}`,
    );
    const s = fx.special;
    const ids = tok.encode(text);
    assert.equal(ids[0], s['<|begin_of_text|>']);
    assert.equal(ids.filter((id) => id === s['<|eot_id|>']).length, 4);
    assert.equal(ids.filter((id) => id === s['<|start_header_id|>']).length, 5);
    const tail = [s['<|start_header_id|>']!, ...tok.encode('assistant'), s['<|end_header_id|>']!, ...tok.encode('\n\n')];
    assert.deepEqual(ids.slice(-tail.length), tail);
    assert.equal(tok.decode(ids), text.replace(/<\|[a-z_]+\|>/g, ''));
    const open = t.render(CONVERSATION.slice(0, 2), { addGenerationPrompt: false, bosToken: '<|begin_of_text|>' });
    assert.ok(open.endsWith('Hello!<|eot_id|>'));
  });

  it('renders a ChatML (Qwen) template, whose text of turn n starts the text of turn n+1', () => {
    const fx = byteLevelTokenizer({ specials: CHATML_SPECIALS });
    const tok = HfTokenizer.fromFiles({ tokenizer: fx.json, tokenizerConfig: { bos_token: null, eos_token: '<|im_end|>' } }, MODEL_VOCAB);
    const t = ChatTemplate.parse(CHATML_TEMPLATE, 'default');
    const first = t.render([{ role: 'user', content: 'Hello!' }], { addGenerationPrompt: true, eosToken: tok.eosToken });
    assert.equal(first, '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n');
    const second = t.render(
      [
        { role: 'user', content: 'Hello!' },
        { role: 'assistant', content: 'Hi there.' },
        { role: 'user', content: 'More?' },
      ],
      { addGenerationPrompt: true },
    );
    assert.ok(second.startsWith(first + 'Hi there.<|im_end|>\n<|im_start|>user\nMore?'));
    const a = tok.encode(first);
    const b = tok.encode(second);
    assert.deepEqual(b.slice(0, a.length), a, 'token ids extend too');
    assert.equal(b[a.length + tok.encode('Hi there.').length], fx.special['<|im_end|>']);
    const withSystem = t.render(CONVERSATION.slice(0, 2), { addGenerationPrompt: false });
    assert.equal(withSystem, '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n Hello! <|im_end|>\n');
  });

  it('has a plain fallback with "User:" and "Assistant:" turns', () => {
    const t = ChatTemplate.plain();
    assert.ok(t.isPlain);
    assert.equal(t.name, 'plain');
    assert.equal(t.source, PLAIN_CHAT_TEMPLATE);
    assert.equal(t.render(CONVERSATION, { addGenerationPrompt: true }), 'Be brief.\n\nUser:  Hello! \nAssistant:Hi, café? 😀\nUser: Tell me a story.\nAssistant:');
    assert.ok(!ChatTemplate.parse(CHATML_TEMPLATE, 'x').isPlain);
  });

  it('selects from tokenizer_config.json: a string, or a named template of a list', () => {
    assert.equal(selectChatTemplate(undefined), undefined);
    assert.equal(selectChatTemplate(null), undefined);
    assert.deepEqual(selectChatTemplate('T'), { name: 'default', source: 'T' });
    const list = [
      { name: 'default', template: 'D' },
      { name: 'tool_use', template: 'U' },
    ];
    assert.deepEqual(selectChatTemplate(list), { name: 'default', source: 'D' });
    assert.deepEqual(selectChatTemplate(list, 'tool_use'), { name: 'tool_use', source: 'U' });
    assert.throws(() => selectChatTemplate(list, 'rag'), isCode('chat-template-invalid', /no chat template named "rag" \(it has: default, tool_use\)/));
    assert.throws(() => selectChatTemplate([{ name: 'tool_use', template: 'U' }]), isCode('chat-template-invalid', /named "default".*--chat-template/));
    assert.throws(() => selectChatTemplate('T', 'tool_use'), isCode('chat-template-invalid', /one unnamed chat template/));
    assert.throws(() => selectChatTemplate(42), isCode('chat-template-invalid'));
    assert.throws(() => selectChatTemplate([{ name: 'x' }]), isCode('chat-template-invalid'));
  });

  it('reports syntax errors and the template raising an exception as chat-template-invalid', () => {
    assert.throws(() => ChatTemplate.parse('{% for m in messages %}', 'broken'), isCode('chat-template-invalid', /"broken" does not parse/));
    const strict = ChatTemplate.parse("{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversations must start with the user') }}{% endif %}ok", 'strict');
    assert.equal(strict.render([{ role: 'user', content: 'x' }], { addGenerationPrompt: true }), 'ok');
    assert.throws(() => strict.render([{ role: 'assistant', content: 'x' }], { addGenerationPrompt: true }), isCode('chat-template-invalid', /Conversations must start with the user/));
  });

  it('loads chat_template.jinja before tokenizer_config.json, by name, or from a given file', async () => {
    const t = await tempDir('df11-tpl-');
    try {
      assert.equal(await loadChatTemplate(t.dir), undefined);
      await assert.rejects(loadChatTemplate(t.dir, { name: 'tool_use' }), isCode('chat-template-invalid', /no chat template, so none named "tool_use"/));
      const list = [
        { name: 'default', template: 'config-default' },
        { name: 'tool_use', template: 'config-tools' },
      ];
      await writeFile(join(t.dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: list }));
      const render = (x: ChatTemplate | undefined): string => x!.render([], { addGenerationPrompt: false });
      assert.equal(render(await loadChatTemplate(t.dir)), 'config-default');
      await writeFile(join(t.dir, 'chat_template.jinja'), 'jinja-file');
      assert.equal(render(await loadChatTemplate(t.dir)), 'jinja-file');
      assert.equal(render(await loadChatTemplate(t.dir, { name: 'tool_use' })), 'config-tools');
      await writeFile(join(t.dir, 'mine.jinja'), 'mine');
      const own = await loadChatTemplate(t.dir, { file: join(t.dir, 'mine.jinja') });
      assert.equal(render(own), 'mine');
      await writeFile(join(t.dir, 'chat_template.jinja'), '{{ unclosed');
      await assert.rejects(loadChatTemplate(t.dir), isCode('chat-template-invalid', /does not parse/));
    } finally {
      await t.cleanup();
    }
  });
});
