// Help texts: `df11 --help` (the command list) and `df11 <command> --help`.
import type { CliCommand } from './command.js';

export const GLOBAL_OPTIONS_HELP = [
  'Global options:',
  '  -h, --help       show help (also: df11 <command> --help)',
  '  --version        print the version',
  '  --debug          print stack traces on errors',
  '  -q, --quiet      no progress output',
].join('\n');

const ENVIRONMENT_HELP = [
  'Environment:',
  '  HF_ENDPOINT      model hub URL for hub repo ids (default https://huggingface.co)',
  '  HF_HUB_OFFLINE   1: use only the local hub cache',
  '  HF_HOME          hub cache root (default ~/.cache/huggingface); HF_HUB_CACHE overrides <HF_HOME>/hub',
  '  HF_TOKEN         access token for private or gated hub repos',
  '  NO_COLOR         disable colours',
].join('\n');

const EXIT_CODES_HELP = 'Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.';

/** The top-level help listing every command of `commands`. */
export function topLevelHelp(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'df11: lossless DFloat11 compression of BF16 model weights',
    '',
    'Usage: df11 <command> [arguments] [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    GLOBAL_OPTIONS_HELP,
    '',
    ENVIRONMENT_HELP,
    '',
    EXIT_CODES_HELP,
    '',
  ].join('\n');
}

/** The help of one command. */
export function commandHelp(command: CliCommand): string {
  return [`Usage: df11 ${command.name} ${command.usage}`, '', command.summary, '', command.help.trimEnd(), '', GLOBAL_OPTIONS_HELP, ''].join('\n');
}
