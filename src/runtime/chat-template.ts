/**
 * Chat templates: the Jinja template a Hugging Face model ships (tokenizer_config.json
 * `chat_template`, a string or a list of named templates, or a `chat_template.jinja` file) turns a
 * conversation into the prompt text, rendered with @huggingface/jinja as transformers'
 * `apply_chat_template` does: `messages`, `add_generation_prompt`, `bos_token`, `eos_token`
 * (`raise_exception` and `strftime_now` are built into the renderer).
 *
 * Models without one (base models, llama2.c checkpoints) get PLAIN_CHAT_TEMPLATE, plain text that
 * any language model can continue: "User: …" lines and an open "Assistant:" line.
 */
import { Template } from '@huggingface/jinja';
import { Df11Error } from '../errors.js';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Variables a template sees besides the messages. */
export interface ChatRenderOptions {
  /** End with the opening of an assistant turn (transformers' add_generation_prompt). */
  addGenerationPrompt: boolean;
  bosToken?: string | undefined;
  eosToken?: string | undefined;
}

/** The name transformers gives the template it uses when a model ships several. */
export const DEFAULT_TEMPLATE_NAME = 'default';
/** The name of the built-in fallback. */
export const PLAIN_TEMPLATE_NAME = 'plain';
/**
 * The fallback for models without a chat template: a system message as a paragraph, then
 * "User: <text>" lines and "Assistant:<reply>" lines, the reply as generated (it usually starts with
 * a space), and an open "Assistant:" to generate from. No special tokens appear in the text: the
 * tokenizer adds BOS itself.
 */
export const PLAIN_CHAT_TEMPLATE =
  "{% for m in messages %}{% if m.role == 'system' %}{{ m.content }}\n\n" +
  "{% elif m.role == 'user' %}User: {{ m.content }}\n" +
  '{% else %}Assistant:{{ m.content }}\n{% endif %}{% endfor %}' +
  '{% if add_generation_prompt %}Assistant:{% endif %}';

export class ChatTemplate {
  private constructor(
    /** Where the template came from, for messages: "default", a template name, or a file. */
    readonly name: string,
    readonly source: string,
    private readonly template: Template,
    private readonly file: string | undefined,
  ) {}

  /**
   * Parses Jinja `source`.
   * @throws Df11Error 'chat-template-invalid' with the parser's message.
   */
  static parse(source: string, name: string, file?: string): ChatTemplate {
    try {
      return new ChatTemplate(name, source, new Template(source), file);
    } catch (cause) {
      throw new Df11Error('chat-template-invalid', `chat template "${name}" does not parse: ${(cause as Error).message}`, { ...(file === undefined ? {} : { file }), cause });
    }
  }

  /** The built-in PLAIN_CHAT_TEMPLATE. */
  static plain(): ChatTemplate {
    return ChatTemplate.parse(PLAIN_CHAT_TEMPLATE, PLAIN_TEMPLATE_NAME);
  }

  /** True for the built-in fallback. */
  get isPlain(): boolean {
    return this.source === PLAIN_CHAT_TEMPLATE;
  }

  /**
   * The prompt text of `messages`.
   * @throws Df11Error 'chat-template-invalid' when rendering fails (the template's own
   *   raise_exception included, e.g. roles out of order).
   */
  render(messages: readonly ChatMessage[], options: ChatRenderOptions): string {
    const vars: Record<string, unknown> = {
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: options.addGenerationPrompt,
    };
    if (options.bosToken !== undefined) vars['bos_token'] = options.bosToken;
    if (options.eosToken !== undefined) vars['eos_token'] = options.eosToken;
    try {
      return this.template.render(vars);
    } catch (cause) {
      throw new Df11Error('chat-template-invalid', `chat template "${this.name}" failed: ${(cause as Error).message}`, { ...(this.file === undefined ? {} : { file: this.file }), cause });
    }
  }
}

/**
 * The template source in tokenizer_config.json's `chat_template` value: a string, or a list of
 * `{ name, template }` of which `name` (default "default") is taken. Undefined when the value is
 * absent or null.
 * @throws Df11Error 'chat-template-invalid' for another shape, or when `name` is not in the list.
 */
export function selectChatTemplate(value: unknown, name?: string, file?: string): { name: string; source: string } | undefined {
  const ctx = file === undefined ? {} : { file };
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    if (name !== undefined && name !== DEFAULT_TEMPLATE_NAME) throw new Df11Error('chat-template-invalid', `the model has one unnamed chat template, not "${name}"`, ctx);
    return { name: DEFAULT_TEMPLATE_NAME, source: value };
  }
  if (!Array.isArray(value)) throw new Df11Error('chat-template-invalid', 'chat_template is neither a string nor a list of named templates', ctx);
  const named = new Map<string, string>();
  for (const entry of value as unknown[]) {
    const e = entry as { name?: unknown; template?: unknown } | null;
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || typeof e.template !== 'string') {
      throw new Df11Error('chat-template-invalid', 'a chat_template list entry is not { "name": string, "template": string }', ctx);
    }
    named.set(e.name, e.template);
  }
  const want = name ?? DEFAULT_TEMPLATE_NAME;
  const source = named.get(want);
  if (source === undefined) {
    const names = [...named.keys()].join(', ');
    throw new Df11Error('chat-template-invalid', `the model has no chat template named "${want}" (it has: ${names || 'none'})${name === undefined ? '; pick one with --chat-template' : ''}`, ctx);
  }
  return { name: want, source };
}
