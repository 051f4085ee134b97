// Opening a DF11 model for the CLI: a folder whose config.json plainly is not a DF11 config gets a
// clear "not a DF11 model" error before any weights are looked at.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Df11Error } from '../errors.js';
import { DF11_CONFIG_KEY, LEGACY_VERSION_KEY } from '../format/df11-config.js';
import { DF11_CONFIG_FILE } from '../format/df11-layout.js';
import { openDf11Model, type Df11Model } from '../format/df11-open.js';
import { readModelConfig } from './model-input.js';

/** openDf11Model, after checking that a folder's config.json (if any) has a DF11 entry. */
export async function openDf11ForCli(path: string): Promise<Df11Model> {
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    // openDf11Model reports the missing path
  }
  if (isDir) {
    const file = join(path, DF11_CONFIG_FILE);
    const config = await readModelConfig(file);
    if (config !== null && !Object.hasOwn(config, DF11_CONFIG_KEY) && !Object.hasOwn(config, LEGACY_VERSION_KEY)) {
      throw new Df11Error('config-invalid', `no "${DF11_CONFIG_KEY}" in config.json: not a DF11 model (compress it with df11 compress)`, { file });
    }
  }
  return openDf11Model(path);
}
