#!/usr/bin/env node
// Entry point of the `df11` command (package.json "bin"). Everything else lives in cli-run.ts.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './cli-run.js';
import { readCliEnv } from './env.js';

/** The version from the package.json above this file (the compiled file sits in <out>/src/cli/). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'df11' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // not ours; keep looking
      }
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** Exit status after a second interrupt, when cleanup is skipped (128 + SIGINT). */
const EXIT_FORCED = 130;

// First SIGINT/SIGTERM: ask the running command to stop and clean up (it then exits with 130).
// Second: leave at once.
const interrupt = new AbortController();
const onSignal = (): void => {
  if (interrupt.signal.aborted) process.exit(EXIT_FORCED);
  process.stderr.write('\ninterrupted: cleaning up (press Ctrl-C again to quit at once)\n');
  interrupt.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: readCliEnv(process.env),
  version: packageVersion(),
  signal: interrupt.signal,
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
process.exitCode = code;
