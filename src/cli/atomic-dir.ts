// An output directory that appears complete or not at all: everything is written into a sibling
// temp directory `<out>.tmp-<random>` which is renamed to `<out>` only when the command succeeds.
// An interrupted or failed run leaves at most that temp directory, never a directory named `<out>`.
import { randomBytes } from 'node:crypto';
import { mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { Df11Error } from '../errors.js';

/** Random bytes (hex) in temp and backup directory names. */
const SUFFIX_BYTES = 6;
/** Infix of the temp directory name, so stray ones are easy to recognise (and to delete). */
export const TEMP_DIR_INFIX = '.tmp-';

export interface AtomicDirOptions {
  /** Replace an existing `<out>` (it is removed only after the new one is complete). */
  overwrite: boolean;
  /** Paths that must not be replaced or contain the output (the command's inputs). */
  protect?: readonly string[];
}

export class AtomicOutputDir {
  private state: 'open' | 'committed' | 'aborted' = 'open';

  private constructor(
    /** The directory that exists after commit(). */
    readonly finalDir: string,
    /** Where to write meanwhile. */
    readonly tempDir: string,
    private readonly overwrite: boolean,
  ) {}

  /**
   * Checks `finalDir` (absent, or present with options.overwrite, and neither a protected input nor a
   * directory containing one) and creates the temp directory beside it (creating parents as needed).
   * Throws Df11Error output-exists or io.
   */
  static async create(finalDir: string, options: AtomicDirOptions): Promise<AtomicOutputDir> {
    const out = resolve(finalDir);
    const exists = await pathExists(out);
    if (exists && !options.overwrite) throw new Df11Error('output-exists', 'output already exists (use --overwrite to replace it)', { file: finalDir });
    for (const p of options.protect ?? []) {
      const input = await realpath(p).catch(() => resolve(p));
      const target = exists ? await realpath(out) : out;
      if (isInside(input, target)) {
        throw new Df11Error('usage', `output ${finalDir} would replace the input ${p}`, { file: finalDir });
      }
    }
    const parent = dirname(out);
    const temp = join(parent, `${basename(out)}${TEMP_DIR_INFIX}${randomBytes(SUFFIX_BYTES).toString('hex')}`);
    try {
      await mkdir(parent, { recursive: true });
      await mkdir(temp);
    } catch (cause) {
      throw new Df11Error('io', `cannot create ${temp}: ${(cause as Error).message}`, { file: finalDir, cause });
    }
    return new AtomicOutputDir(out, temp, options.overwrite);
  }

  /** A path inside the temp directory. */
  path(name: string): string {
    return join(this.tempDir, name);
  }

  /** Renames the temp directory to the final one (replacing an old one when allowed). */
  async commit(): Promise<void> {
    if (this.state !== 'open') throw new Df11Error('io', `output directory already ${this.state}`, { file: this.finalDir });
    try {
      if (this.overwrite && (await pathExists(this.finalDir))) {
        const old = `${this.finalDir}.old-${randomBytes(SUFFIX_BYTES).toString('hex')}`;
        await rename(this.finalDir, old);
        await rename(this.tempDir, this.finalDir);
        await rm(old, { recursive: true, force: true });
      } else {
        await rename(this.tempDir, this.finalDir);
      }
    } catch (cause) {
      throw new Df11Error('io', `cannot move ${this.tempDir} to the output: ${(cause as Error).message}`, { file: this.finalDir, cause });
    }
    this.state = 'committed';
  }

  /** Removes the temp directory (best effort); the final directory is untouched. Safe to call twice. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await rm(this.tempDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function pathExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** True when `child` is `parent` or lies inside it. */
function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
