// Typed access to parsed command options; every malformed value is a 'usage' error (exit code 2).
import { Df11Error } from '../errors.js';
import type { CommandArgs } from './command.js';

/** Upper bound for --threads: more workers than this only costs memory. */
export const MAX_THREADS = 256;

export function usageError(message: string): Df11Error {
  return new Df11Error('usage', message);
}

/** The string value of option `name`, or undefined when absent. */
export function stringOption(args: CommandArgs, name: string): string | undefined {
  const v = args.values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw usageError(`--${name} needs a value`);
  return v;
}

/** True when boolean option `name` was given. */
export function flagOption(args: CommandArgs, name: string): boolean {
  return args.values[name] === true;
}

/** An integer option in [min, max], or `fallback` when absent. */
export function intOption(args: CommandArgs, name: string, fallback: number, min: number, max: number): number {
  const raw = stringOption(args, name);
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw.trim())) throw usageError(`--${name} must be a whole number, got "${raw}"`);
  const n = Number(raw.trim());
  if (!Number.isSafeInteger(n) || n < min || n > max) throw usageError(`--${name} must be between ${min} and ${max}, got ${raw}`);
  return n;
}

/** --threads N (default: all logical CPUs). */
export function threadsOption(args: CommandArgs, cpuCount: number): number {
  return intOption(args, 'threads', Math.max(1, cpuCount), 1, MAX_THREADS);
}

/** One of `choices` for option `name`, or `fallback` when absent. */
export function choiceOption<T extends string>(args: CommandArgs, name: string, choices: readonly T[], fallback: T): T {
  const raw = stringOption(args, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw usageError(`--${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  return raw as T;
}

/** Positional argument `index` (the command's positional count was checked by main). */
export function positional(args: CommandArgs, index: number, what: string): string {
  const v = args.positionals[index];
  if (v === undefined || v === '') throw usageError(`missing ${what}`);
  return v;
}

/** The shared help text for --threads. */
export const THREADS_HELP = '  --threads N      worker threads (default: number of CPUs)';
