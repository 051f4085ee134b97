// The environment variables the CLI honours. Only src/cli reads the environment; everything below
// it receives these values as options.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Settings taken from the environment, resolved once at start-up. */
export interface CliEnv {
  /** HF_ENDPOINT: base URL of the model hub (undefined: the library default, https://huggingface.co). */
  hfEndpoint: string | undefined;
  /** HF_HUB_OFFLINE=1: never touch the network; hub ids must already be in the cache. */
  hfOffline: boolean;
  /** HF_HOME (default ~/.cache/huggingface): root of the hub cache. */
  hfHome: string;
  /** The hub cache directory: HF_HUB_CACHE, else `<HF_HOME>/hub`. */
  hubCacheDir: string;
  /** HF_TOKEN: access token for private or gated hub repos. */
  hfToken: string | undefined;
  /** NO_COLOR set to anything non-empty: no ANSI colours in output. */
  noColor: boolean;
}

const TRUE_VALUES = new Set(['1', 'true', 'yes', 'on']);

/** Reads the CLI's environment variables from `env` (process.env in production). */
export function readCliEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  const hfHome = nonEmpty(env['HF_HOME']) ?? join(homedir(), '.cache', 'huggingface');
  return {
    hfEndpoint: nonEmpty(env['HF_ENDPOINT']),
    hfOffline: TRUE_VALUES.has((env['HF_HUB_OFFLINE'] ?? '').trim().toLowerCase()),
    hfHome,
    hubCacheDir: nonEmpty(env['HF_HUB_CACHE']) ?? join(hfHome, 'hub'),
    hfToken: nonEmpty(env['HF_TOKEN']),
    noColor: nonEmpty(env['NO_COLOR']) !== undefined,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
