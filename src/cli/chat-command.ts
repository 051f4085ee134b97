// `df11 chat`: a multi-turn conversation with a BF16 or DF11 model, through the model's chat template.
import { dirname } from 'node:path';
import { ChatSession } from '../runtime/chat-session.js';
import { ChatTemplate } from '../runtime/chat-template.js';
import { InferenceEngine } from '../runtime/engine.js';
import { parseModelConfig } from '../runtime/model-config.js';
import { loadChatTemplate } from '../runtime/node/hf-tokenizer-files.js';
import { loadTokenizer, openModelDir } from '../runtime/node/open-model.js';
import { HfTokenizer } from '../runtime/tokenizer-hf.js';
import { positional, stringOption, usageError } from './args.js';
import { runChatLoop } from './chat-loop.js';
import { acquireCliGpu } from './cli-gpu.js';
import { EXIT_OK, type CliCommand, type CliContext, type CommandArgs } from './command.js';
import { GENERATION_OPTIONS, parseGenerationOptions } from './generation-options.js';

const DEFAULT_MAX_TOKENS = 256;

export const chatCommand: CliCommand = {
  name: 'chat',
  summary: 'chat with a model (its chat template; the KV cache is kept across turns)',
  usage: '<model-dir> [--system S] [--max-tokens N] [options]',
  help: `Arguments:
  <model-dir>      a BF16 or DF11 model folder, as for df11 generate. The tokenizer is its
                   tokenizer.json (Hugging Face) or llama2.c tokenizer.bin / tok*.bin, or --tokenizer

Each line of standard input is a user message; the reply streams to stdout. "/reset" starts a new
conversation, "/exit" or end of input (Ctrl-D) ends the chat. On a terminal a "> " prompt is shown
and Ctrl-C stops a reply; from a pipe only the replies are printed, one per line.

The conversation is rendered with the model's chat template (chat_template.jinja, or
tokenizer_config.json's chat_template) with add_generation_prompt. A model without one (a base
model, a llama2.c checkpoint) gets a plain-text template: "User: <message>" lines and an open
"Assistant:" line after BOS; a note on stderr says so. When the rendered conversation starts with
the tokens already in the KV cache, only the new tokens are run; otherwise it is prefilled again.
A reply ends at an end-of-sequence token (generation_config.json, config.json, tokenizer_config.json)
or after --max-tokens. Each turn's token counts and speed go to stderr.

Options:
  --system S       a system message at the start of the conversation
  --chat-template NAME   one of the named templates of tokenizer_config.json (default "default")
  --chat-template-file F a Jinja chat template to use instead of the model's
  --max-tokens N   tokens per reply at most (default ${DEFAULT_MAX_TOKENS})
  --temperature T, --top-k K, --top-p P, --seed S, --mode M, --gpu-memory B, --tokenizer F
                   as for df11 generate`,
  options: {
    ...GENERATION_OPTIONS,
    system: { type: 'string' },
    'chat-template': { type: 'string' },
    'chat-template-file': { type: 'string' },
  },
  positionals: { min: 1, max: 1 },
  run: runChat,
};

async function runChat(args: CommandArgs, ctx: CliContext): Promise<number> {
  const dir = positional(args, 0, '<model-dir>');
  const opts = parseGenerationOptions(args, DEFAULT_MAX_TOKENS);
  const system = stringOption(args, 'system');
  const templateName = stringOption(args, 'chat-template');
  const templateFile = stringOption(args, 'chat-template-file');
  if (templateName !== undefined && templateFile !== undefined) throw usageError('give --chat-template or --chat-template-file, not both');

  const model = await openModelDir(dir);
  try {
    const { mode } = opts;
    if (mode === 'df11' && model.files.kind !== 'df11') throw usageError(`--mode df11 needs a DF11 model folder (make one with df11 compress); ${dir} holds BF16 weights`);
    if (mode !== undefined && mode !== 'df11' && model.files.kind === 'df11') throw usageError(`--mode ${mode} needs BF16 weights; ${dir} is a DF11 model (use --mode df11)`);
    const config = parseModelConfig(model.files.config, dir);
    const tokenizer = await loadTokenizer(model.dir, config.vocabSize, opts.tokenizer);
    const templateDir = opts.tokenizer?.toLowerCase().endsWith('.json') ? dirname(opts.tokenizer) : model.dir;
    let template = await loadChatTemplate(templateDir, { name: templateName, file: templateFile });
    if (template === undefined) {
      template = ChatTemplate.plain();
      ctx.info('note: the model has no chat template; using plain text turns ("User: ..." and "Assistant:")');
    }
    const hf = tokenizer instanceof HfTokenizer ? tokenizer : undefined;
    const gpu = await acquireCliGpu(ctx);
    try {
      const engine = await InferenceEngine.create(gpu, model.files, {
        ...(mode !== undefined ? { mode } : {}),
        ...(opts.gpuMemoryBytes !== undefined ? { gpuMemoryBytes: opts.gpuMemoryBytes } : {}),
      });
      try {
        ctx.info(`weights: ${engine.describeWeights()}; chat template: ${template.name}`);
        const session = new ChatSession(engine, {
          tokenizer,
          template,
          // special tokens are text only where the tokenizer reads them back and the template writes them
          addBos: hf === undefined || template.isPlain,
          bosToken: hf?.bosToken,
          eosToken: hf?.eosToken,
          stopTokens: [...new Set([...config.eosTokenIds, ...tokenizer.eosIds])],
          sampling: opts.sampling,
          system,
        });
        await runChatLoop(session, ctx, { input: process.stdin, interactive: process.stdin.isTTY === true, maxTokens: opts.maxTokens });
        return EXIT_OK;
      } finally {
        engine.destroy();
      }
    } finally {
      gpu.destroy();
    }
  } finally {
    await model.close();
  }
}
