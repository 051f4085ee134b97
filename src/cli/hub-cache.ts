// The Hugging Face hub cache layout, shared with the Python `huggingface_hub` and `@huggingface/hub`:
//   <cache>/models--<org>--<name>/refs/<revision>          text file holding a 40-hex commit id
//   <cache>/models--<org>--<name>/blobs/<etag>             file contents, named by git or LFS hash
//   <cache>/models--<org>--<name>/snapshots/<commit>/<path> relative symlink to the blob
// Only this file knows the layout; it does no network I/O.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Df11Error } from '../errors.js';

/** A full git commit id, the only revision form used as a snapshot folder name. */
export const COMMIT_ID_PATTERN = /^[0-9a-f]{40}$/;
/** A blob name: a git SHA-1 (40 hex) or an LFS SHA-256 (64 hex). */
const BLOB_ID_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** A revision (branch, tag, `refs/pr/1`, commit) that is safe to use as a relative path. */
const REVISION_PATTERN = /^[A-Za-z0-9_.\-/]{1,200}$/;

/** Where the hub cache lives when no folder is given: `$HF_HUB_CACHE`, `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
export function defaultHubCacheDir(env: NodeJS.ProcessEnv): string {
  if (env['HF_HUB_CACHE']) return env['HF_HUB_CACHE'];
  if (env['HF_HOME']) return join(env['HF_HOME'], 'hub');
  const xdg = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(xdg, 'huggingface', 'hub');
}

/** Throws Df11Error 'usage' unless `revision` is a plain relative ref name (no `..`, no leading `/`). */
export function checkRevision(revision: string): void {
  const parts = revision.split('/');
  if (!REVISION_PATTERN.test(revision) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Df11Error('usage', `invalid hub revision '${revision}'`);
  }
}

/** Throws Df11Error 'hub' unless `path` is a relative repo path that stays inside a snapshot. */
export function checkRepoPath(repo: string, path: string): void {
  const parts = path.split('/');
  if (path.length === 0 || path.length > 1000 || path.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Df11Error('hub', `hub repo ${repo} lists an unsafe file path '${path}'`, { file: path });
  }
}

/** The cache paths of one model repo. */
export class HubRepoCache {
  readonly root: string;

  constructor(
    readonly cacheDir: string,
    readonly repo: string,
  ) {
    this.root = join(cacheDir, `models--${repo.split('/').join('--')}`);
  }

  snapshotDir(commit: string): string {
    if (!COMMIT_ID_PATTERN.test(commit)) throw new Df11Error('hub', `hub repo ${this.repo}: malformed commit id '${commit}'`);
    return join(this.root, 'snapshots', commit);
  }

  blobPath(blobId: string): string {
    if (!BLOB_ID_PATTERN.test(blobId)) throw new Df11Error('hub', `hub repo ${this.repo}: malformed file hash '${blobId}'`);
    return join(this.root, 'blobs', blobId);
  }

  /** The commit a revision points to in the cache: the revision itself if it is a commit id, else `refs/<revision>`. */
  async resolveRevision(revision: string): Promise<string | undefined> {
    if (COMMIT_ID_PATTERN.test(revision)) return revision;
    checkRevision(revision);
    let text: string;
    try {
      text = await readFile(join(this.root, 'refs', revision), 'utf8');
    } catch {
      return undefined;
    }
    const commit = text.trim();
    return COMMIT_ID_PATTERN.test(commit) ? commit : undefined;
  }

  /** Records that `revision` points to `commit` (atomic: write a temporary file, then rename). */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    checkRevision(revision);
    const refPath = join(this.root, 'refs', revision);
    await mkdir(dirname(refPath), { recursive: true });
    const tmp = `${refPath}.${process.pid}.tmp`;
    await writeFile(tmp, commit);
    await rename(tmp, refPath);
  }

  /** True when the snapshot entry for `path` resolves to an existing file (following the symlink). */
  hasFile(commit: string, path: string): boolean {
    return existsSync(join(this.snapshotDir(commit), path));
  }

  /** Points `snapshots/<commit>/<path>` at `blobs/<blobId>` with a relative symlink (a copy where links fail). */
  async linkBlob(commit: string, path: string, blobId: string): Promise<void> {
    checkRepoPath(this.repo, path);
    const blob = this.blobPath(blobId);
    const pointer = join(this.snapshotDir(commit), path);
    await mkdir(dirname(pointer), { recursive: true });
    await rm(pointer, { force: true });
    try {
      await symlink(relative(dirname(pointer), blob), pointer);
    } catch {
      await copyFile(blob, pointer);
    }
  }
}
