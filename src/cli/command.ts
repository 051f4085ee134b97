// The shape of one CLI command and the context every command runs in. Commands are plain objects
// listed in command-table.ts; adding a command means writing one file and adding one line there.
import type { ParseArgsConfig } from 'node:util';
import type { CliEnv } from './env.js';
import type { Progress, ProgressStream } from './progress.js';

/** Process exit codes of the CLI. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Option definitions in node:util parseArgs form. */
export type CommandOptions = NonNullable<ParseArgsConfig['options']>;

/** Parsed arguments of one command invocation. */
export interface CommandArgs {
  positionals: string[];
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
}

/** A text sink (process.stdout / process.stderr or a test double). */
export type OutputStream = ProgressStream;

/** What a command may use besides its arguments: streams, environment, global flags. */
export interface CliContext {
  env: CliEnv;
  stdout: OutputStream;
  stderr: OutputStream;
  /** --debug: print stacks and extra diagnostics. */
  debug: boolean;
  /** --quiet: no progress output. */
  quiet: boolean;
  /** Logical CPU count, the default for --threads. */
  cpuCount: number;
  /** A progress indicator on stderr (silent when --quiet). */
  progress(label: string, totalBytes: number): Progress;
  /** A line of information on stderr (suppressed by --quiet). */
  info(message: string): void;
  /** Aborted on SIGINT/SIGTERM: long commands stop, clean up and throw Df11Error 'interrupted'. */
  signal: AbortSignal;
}

export interface CliCommand {
  /** The word after `df11`. */
  readonly name: string;
  /** One line for `df11 --help`. */
  readonly summary: string;
  /** Positional part of the usage line, e.g. "<df11-dir> [--json]". */
  readonly usage: string;
  /** Full help text after the usage line: description, arguments and options. */
  readonly help: string;
  /** Command-specific options (the global --help/--debug/--quiet are added by main). */
  readonly options: CommandOptions;
  /** Allowed number of positional arguments. */
  readonly positionals: { readonly min: number; readonly max: number };
  /** Runs the command; resolves to the exit code. Throws Df11Error on failure. */
  run(args: CommandArgs, ctx: CliContext): Promise<number>;
}
