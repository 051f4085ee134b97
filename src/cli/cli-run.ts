// Argument dispatch for the df11 CLI: picks the command, parses its options with node:util parseArgs,
// prints help, maps errors to one clear line and exit codes (0 ok, 1 failure, 2 usage, 130 interrupted).
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Df11Error } from '../errors.js';
import { COMMANDS } from './command-table.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliContext, type CommandArgs, type CommandOptions, type OutputStream } from './command.js';
import type { CliEnv } from './env.js';
import { commandHelp, topLevelHelp } from './help.js';
import { Progress } from './progress.js';

/** Exit code after SIGINT/SIGTERM (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

const GLOBAL_OPTIONS: CommandOptions = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
};

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: CliEnv;
  version: string;
  /** Aborted when the user interrupts (main.ts wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
}

/** Runs one CLI invocation (`argv` without node and script) and resolves to its exit code. */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly CliCommand[] = COMMANDS): Promise<number> {
  const debug = argv.includes('--debug');
  const color = io.stderr.isTTY === true && !io.env.noColor;
  const fail = (err: unknown): number => reportError(err, io.stderr, debug, color);
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? argv[1] : undefined;
    const cmd = topic === undefined ? undefined : commands.find((c) => c.name === topic);
    if (topic !== undefined && cmd === undefined) return fail(new Df11Error('usage', `unknown command "${topic}"; run df11 --help`));
    io.stdout.write(cmd ? commandHelp(cmd) : topLevelHelp(commands));
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (first === '--version' || first === '-V') {
    io.stdout.write(`df11 ${io.version}\n`);
    return EXIT_OK;
  }
  const command = commands.find((c) => c.name === first);
  if (command === undefined) {
    return fail(new Df11Error('usage', `unknown command "${first}"; commands: ${commands.map((c) => c.name).join(', ')} (run df11 --help)`));
  }

  let args: CommandArgs;
  try {
    const parsed = parseArgs({ args: argv.slice(1), options: { ...command.options, ...GLOBAL_OPTIONS }, allowPositionals: true, strict: true });
    args = { positionals: parsed.positionals, values: parsed.values as CommandArgs['values'] };
  } catch (err) {
    // parseArgs messages go on with advice about '--'; the first sentence is the useful part.
    const msg = err instanceof Error ? err.message.split('\n')[0]?.split('. ')[0] : String(err);
    return fail(new Df11Error('usage', `${msg ?? 'bad arguments'} (run df11 ${command.name} --help)`));
  }
  if (args.values['help'] === true) {
    io.stdout.write(commandHelp(command));
    return EXIT_OK;
  }
  const { min, max } = command.positionals;
  if (args.positionals.length < min || args.positionals.length > max) {
    const got = args.positionals.length;
    return fail(new Df11Error('usage', `expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${got}; usage: df11 ${command.name} ${command.usage}`));
  }

  const quiet = args.values['quiet'] === true;
  const ctx: CliContext = {
    env: io.env,
    stdout: io.stdout,
    stderr: io.stderr,
    debug,
    quiet,
    cpuCount: availableParallelism(),
    progress: (label, totalBytes) => new Progress({ stream: io.stderr, label, totalBytes, enabled: !quiet }),
    info: (message) => {
      if (!quiet) io.stderr.write(message + '\n');
    },
    signal: io.signal ?? new AbortController().signal,
  };
  try {
    return await command.run(args, ctx);
  } catch (err) {
    return fail(err);
  }
}

/** Prints `err` as one line (plus the stack with --debug) and returns its exit code. */
function reportError(err: unknown, stderr: OutputStream, debug: boolean, color: boolean): number {
  const prefix = color ? '\x1b[31merror\x1b[0m' : 'error';
  if (err instanceof Df11Error) {
    stderr.write(`${prefix}: ${err.message}\n`);
    if (debug && err.stack) stderr.write(err.stack + '\n');
    if (err.code === 'usage') return EXIT_USAGE;
    if (err.code === 'interrupted') return EXIT_INTERRUPTED;
    return EXIT_FAILURE;
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr.write(`${prefix}: internal error: ${message}${debug ? '' : ' (run with --debug for details)'}\n`);
  if (debug && err instanceof Error && err.stack) stderr.write(err.stack + '\n');
  return EXIT_FAILURE;
}
