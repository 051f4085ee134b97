/**
 * Node glue for Hugging Face tokenizers and chat templates: reads tokenizer.json and the files that
 * name its special tokens and chat template from a model folder.
 * - tokenizer_config.json beside tokenizer.json: bos_token, eos_token, chat_template.
 * - generation_config.json and config.json in the model folder: bos_token_id, eos_token_id.
 * - chat_template.jinja beside tokenizer.json: the default chat template (newer transformers write
 *   it instead of tokenizer_config.json's chat_template; when both exist the file wins, as there).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Df11Error } from '../../errors.js';
import { ChatTemplate, DEFAULT_TEMPLATE_NAME, selectChatTemplate } from '../chat-template.js';
import { HfTokenizer } from '../tokenizer-hf.js';
import { readJsonObject, readSmallText } from './small-file.js';

export const HF_TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';
export const CHAT_TEMPLATE_FILE = 'chat_template.jinja';
const MODEL_CONFIG_FILE = 'config.json';

/** `dir/name` parsed, or undefined when there is no such file. */
async function optionalJson(dir: string, name: string, code: 'tokenizer-invalid' | 'config-invalid' | 'chat-template-invalid'): Promise<Record<string, unknown> | undefined> {
  const file = join(dir, name);
  return existsSync(file) ? readJsonObject(file, code) : undefined;
}

/**
 * The Hugging Face tokenizer in `file` (a tokenizer.json), its special tokens read from the files
 * beside it and in `modelDir`; `vocabSize` is the model's.
 * @throws Df11Error 'tokenizer-invalid' (bad tokenizer.json or tokenizer_config.json, ids outside
 *   the vocabulary), 'config-invalid' (bad generation_config.json or config.json), 'io'.
 */
export async function loadHfTokenizer(file: string, modelDir: string, vocabSize: number): Promise<HfTokenizer> {
  const tokenizer = await readJsonObject(file, 'tokenizer-invalid');
  const tokenizerConfig = await optionalJson(dirname(file), TOKENIZER_CONFIG_FILE, 'tokenizer-invalid');
  const generationConfig = await optionalJson(modelDir, GENERATION_CONFIG_FILE, 'config-invalid');
  const modelConfig = await optionalJson(modelDir, MODEL_CONFIG_FILE, 'config-invalid');
  return HfTokenizer.fromFiles({ tokenizer, tokenizerConfig, generationConfig, modelConfig }, vocabSize, file);
}

export interface ChatTemplateChoice {
  /** A template name from tokenizer_config.json's list (default "default"). */
  name?: string | undefined;
  /** A Jinja file to use instead of the model's template. */
  file?: string | undefined;
}

/**
 * The chat template of the model in `dir`: `choice.file`; else chat_template.jinja (unless a name
 * is asked for); else tokenizer_config.json's chat_template; undefined when the model has none.
 * @throws Df11Error 'chat-template-invalid' (bad JSON shape, unknown name, Jinja syntax error), 'io'.
 */
export async function loadChatTemplate(dir: string, choice: ChatTemplateChoice = {}): Promise<ChatTemplate | undefined> {
  if (choice.file !== undefined) return ChatTemplate.parse(await readSmallText(choice.file, 'chat-template-invalid'), choice.file, choice.file);
  const jinja = join(dir, CHAT_TEMPLATE_FILE);
  if ((choice.name === undefined || choice.name === DEFAULT_TEMPLATE_NAME) && existsSync(jinja)) {
    return ChatTemplate.parse(await readSmallText(jinja, 'chat-template-invalid'), DEFAULT_TEMPLATE_NAME, jinja);
  }
  const configFile = join(dir, TOKENIZER_CONFIG_FILE);
  const config = existsSync(configFile) ? await readJsonObject(configFile, 'chat-template-invalid') : undefined;
  const picked = selectChatTemplate(config?.['chat_template'], choice.name, configFile);
  if (picked === undefined) {
    if (choice.name !== undefined) throw new Df11Error('chat-template-invalid', `the model has no chat template, so none named "${choice.name}"`, { file: dir });
    return undefined;
  }
  return ChatTemplate.parse(picked.source, picked.name, configFile);
}
