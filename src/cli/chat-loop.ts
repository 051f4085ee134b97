// The read-eval loop of `df11 chat`: one user message per input line, the reply streamed to stdout,
// per-turn statistics on stderr. Lines "/exit" and "/reset" are commands; end of input ends the chat.
// On a terminal it shows a "> " prompt and Ctrl-C stops the reply being generated (at the prompt it
// ends the chat); from a pipe it prints only the replies, one per line.
import { createInterface } from 'node:readline';
import { Df11Error } from '../errors.js';
import type { ChatSession, TurnSummary } from '../runtime/chat-session.js';
import type { CliContext } from './command.js';

export const CHAT_PROMPT = '> ';
export const EXIT_COMMAND = '/exit';
export const RESET_COMMAND = '/reset';
const COMMAND_LINE = /^\/\S+$/;

export interface ChatLoopOptions {
  input: NodeJS.ReadableStream;
  /** A terminal: show the prompt, let readline edit lines and catch Ctrl-C. */
  interactive: boolean;
  /** Tokens per reply at most. */
  maxTokens: number;
}

/**
 * Runs the conversation until end of input, /exit or an interrupt.
 * @throws Df11Error 'interrupted' after SIGINT/SIGTERM (ctx.signal); engine errors. Errors of one
 *   turn that leave the session usable (the conversation outgrew the KV cache, the template refused
 *   the conversation) are printed and the loop goes on.
 */
export async function runChatLoop(session: ChatSession, ctx: CliContext, options: ChatLoopOptions): Promise<void> {
  const rl = createInterface({
    input: options.input,
    ...(options.interactive ? { output: process.stdout, terminal: true, prompt: CHAT_PROMPT } : { terminal: false }),
  });
  let turnAbort: AbortController | undefined;
  // readline takes Ctrl-C on a terminal: stop the reply, or end the chat at the prompt
  rl.on('SIGINT', () => (turnAbort ? turnAbort.abort() : rl.close()));
  const onInterrupt = (): void => rl.close();
  ctx.signal.addEventListener('abort', onInterrupt);
  const prompt = (): void => {
    if (options.interactive) rl.prompt();
  };
  let turn = 0;
  try {
    prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      if (ctx.signal.aborted) break;
      if (line === EXIT_COMMAND) break;
      if (line === RESET_COMMAND) {
        session.reset();
        ctx.info('conversation cleared');
      } else if (COMMAND_LINE.test(line)) {
        ctx.stderr.write(`unknown command ${line} (commands: ${EXIT_COMMAND}, ${RESET_COMMAND}; end of input also ends the chat)\n`);
      } else if (line !== '') {
        turnAbort = new AbortController();
        try {
          const summary = await session.send(line, { maxTokens: options.maxTokens, signal: AbortSignal.any([ctx.signal, turnAbort.signal]), onText: replyWriter(ctx) });
          ctx.stdout.write('\n');
          reportTurn(ctx, ++turn, summary);
        } catch (e) {
          if (!(e instanceof Df11Error) || (e.code !== 'generation' && e.code !== 'chat-template-invalid')) throw e;
          ctx.stderr.write(`error: ${e.message}\n`);
        } finally {
          turnAbort = undefined;
        }
        if (ctx.signal.aborted) break;
      }
      prompt();
    }
  } finally {
    ctx.signal.removeEventListener('abort', onInterrupt);
    rl.close();
  }
  if (options.interactive) ctx.stdout.write('\n');
  if (ctx.signal.aborted) throw new Df11Error('interrupted', 'chat interrupted');
}

/** Writes reply text to stdout, without the whitespace a reply usually starts with. */
function replyWriter(ctx: CliContext): (text: string) => void {
  let started = false;
  return (text) => {
    const shown = started ? text : text.trimStart();
    if (shown === '') return;
    started = true;
    ctx.stdout.write(shown);
  };
}

function reportTurn(ctx: CliContext, turn: number, s: TurnSummary): void {
  const rate = Number.isNaN(s.decodeTokensPerSecond) ? 'n/a' : s.decodeTokensPerSecond.toFixed(2);
  ctx.info(
    `turn ${turn}: ${s.promptTokens} prompt tokens (${s.reusedTokens} from the KV cache), ${s.tokens.length} generated (stop: ${s.stopReason}), ` +
      `time to first token ${s.timeToFirstTokenMs.toFixed(1)} ms, ${rate} tok/s`,
  );
  if (s.stopReason === 'context-full') ctx.stderr.write(`the KV cache is full (${s.capacity} positions); ${RESET_COMMAND} starts over\n`);
}
