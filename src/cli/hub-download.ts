// Downloads selected files of a Hugging Face hub model repo into the standard hub cache (hub-cache.ts),
// through @huggingface/hub: `modelInfo` resolves the revision to a commit, `listFiles` lists the tree,
// `downloadFile` fetches each file (plain HTTP, no Xet). Every file is checked against the hash the
// tree listing gives (LFS SHA-256 or git blob SHA-1) before it enters the cache, so a cache entry is
// never partial or wrong. Offline mode reads only the cache.
import { createHash, type Hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Df11Error } from '../errors.js';
import { checkRepoPath, COMMIT_ID_PATTERN, HubRepoCache } from './hub-cache.js';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';
/** A download that receives no bytes (and a request that gets no answer) for this long is aborted. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** Byte progress over all selected files of one download; `file` is the repo path being fetched. */
export type ProgressCallback = (done: number, total: number, file: string) => void;

export interface HubDownloadOptions {
  /** Hub base URL, e.g. `https://huggingface.co` or a mirror (the CLI passes `HF_ENDPOINT`). */
  endpoint?: string;
  /** Use only the cache; never touch the network (the CLI passes `HF_HUB_OFFLINE=1`). */
  offline?: boolean;
  /** Hub cache folder (`.../huggingface/hub`). */
  cacheDir: string;
  /** Token for private or gated repos (the CLI passes `HF_TOKEN`). */
  accessToken?: string;
  onProgress?: ProgressCallback;
  idleTimeoutMs?: number;
}

export interface HubDownloadRequest {
  /** `org/name` of a model repo. */
  repo: string;
  revision?: string;
  /** Which repo paths to fetch. */
  select: (path: string) => boolean;
  /** Inspects a snapshot folder; returns what is missing from it, or undefined when it is usable. */
  checkComplete: (snapshotDir: string) => Promise<string | undefined>;
}

export interface HubSnapshot {
  /** The snapshot folder, `<cache>/models--org--name/snapshots/<commit>`. */
  dir: string;
  commit: string;
}

interface RemoteFile {
  path: string;
  size: number;
  blobId: string;
  hash: 'sha256' | 'git-sha1' | 'none';
}

type HubModule = typeof import('@huggingface/hub');

/**
 * Makes the selected files of `repo` at `revision` (default `main`) available in the hub cache and
 * returns their snapshot folder. Files already cached are not fetched again.
 * @throws Df11Error 'hub' when the repo, revision or a file is missing, the endpoint cannot be reached,
 *   a file fails its hash check, offline mode finds no usable snapshot, or `checkComplete` objects.
 */
export async function downloadHubSnapshot(request: HubDownloadRequest, options: HubDownloadOptions): Promise<HubSnapshot> {
  const revision = request.revision ?? DEFAULT_REVISION;
  const cache = new HubRepoCache(options.cacheDir, request.repo);
  const snapshot = options.offline ? await findCachedSnapshot(cache, revision) : await fetchSnapshot(request, revision, cache, options);
  const missing = await request.checkComplete(snapshot.dir);
  if (missing !== undefined) {
    const how = options.offline ? ' in the cache (offline mode)' : '';
    throw new Df11Error('hub', `hub repo ${request.repo}@${revision}${how}: ${missing}`, { file: snapshot.dir });
  }
  return snapshot;
}

async function findCachedSnapshot(cache: HubRepoCache, revision: string): Promise<HubSnapshot> {
  const commit = await cache.resolveRevision(revision);
  const dir = commit === undefined ? undefined : cache.snapshotDir(commit);
  if (commit === undefined || dir === undefined || !existsSync(dir)) {
    throw new Df11Error('hub', `hub repo ${cache.repo}@${revision} is not in the cache ${cache.cacheDir} and offline mode is on (HF_HUB_OFFLINE)`);
  }
  return { dir, commit };
}

async function fetchSnapshot(
  request: HubDownloadRequest,
  revision: string,
  cache: HubRepoCache,
  options: HubDownloadOptions,
): Promise<HubSnapshot> {
  const hub: HubModule = await import('@huggingface/hub');
  const endpoint = (options.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
  const watchdog = new IdleWatchdog(options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, endpoint);
  const common = {
    hubUrl: endpoint,
    fetch: watchdog.fetch,
    ...(options.accessToken ? { accessToken: options.accessToken } : {}),
  };
  const repoDesignation = { type: 'model' as const, name: request.repo };
  let current: string | undefined;
  try {
    const info = await hub.modelInfo({ ...common, name: request.repo, revision, additionalFields: ['sha'] });
    const commit = info.sha;
    if (typeof commit !== 'string' || !COMMIT_ID_PATTERN.test(commit)) {
      throw new Df11Error('hub', `hub repo ${request.repo}@${revision}: the endpoint gave no commit id`);
    }
    const files: RemoteFile[] = [];
    for await (const entry of hub.listFiles({ ...common, repo: repoDesignation, recursive: true, revision: commit })) {
      if (entry.type !== 'file' || !request.select(entry.path)) continue;
      checkRepoPath(request.repo, entry.path);
      files.push(remoteFile(request.repo, entry));
    }
    if (files.length === 0) throw new Df11Error('hub', `hub repo ${request.repo}@${revision} has none of the files df11 needs`);

    const total = files.reduce((sum, f) => sum + f.size, 0);
    let done = 0;
    for (const file of files) {
      current = file.path;
      if (cache.hasFile(commit, file.path)) {
        done += file.size;
        options.onProgress?.(done, total, file.path);
        continue;
      }
      if (!(await blobIsPresent(cache, file))) {
        const base = done;
        await fetchBlob(hub, { ...common, repo: repoDesignation, path: file.path, revision: commit }, cache, file, watchdog, (n) =>
          options.onProgress?.(base + n, total, file.path),
        );
      }
      await cache.linkBlob(commit, file.path, file.blobId);
      done += file.size;
      options.onProgress?.(done, total, file.path);
    }
    current = undefined;
    await cache.writeRef(revision, commit);
    return { dir: cache.snapshotDir(commit), commit };
  } catch (e) {
    throw toHubError(e, hub, request.repo, revision, current, endpoint);
  } finally {
    watchdog.stop();
  }
}

function remoteFile(
  repo: string,
  entry: { path: string; size: number; oid?: string; lfs?: { oid: string; size: number }; xetHash?: string },
): RemoteFile {
  if (entry.lfs) return { path: entry.path, size: entry.lfs.size, blobId: entry.lfs.oid, hash: 'sha256' };
  if (entry.oid) return { path: entry.path, size: entry.size, blobId: entry.oid, hash: 'git-sha1' };
  if (entry.xetHash) return { path: entry.path, size: entry.size, blobId: entry.xetHash, hash: 'none' };
  throw new Df11Error('hub', `hub repo ${repo} lists ${entry.path} without a hash`, { file: entry.path });
}

async function blobIsPresent(cache: HubRepoCache, file: RemoteFile): Promise<boolean> {
  try {
    return (await stat(cache.blobPath(file.blobId))).size === file.size;
  } catch {
    return false;
  }
}

/** Streams one file into `blobs/<id>.incomplete`, checks its size and hash, then renames it into place. */
async function fetchBlob(
  hub: HubModule,
  params: Parameters<HubModule['downloadFile']>[0],
  cache: HubRepoCache,
  file: RemoteFile,
  watchdog: IdleWatchdog,
  onBytes: (n: number) => void,
): Promise<void> {
  const blob = await hub.downloadFile({ ...params, xet: false });
  if (blob === null) throw new Df11Error('hub', `the file is missing at this revision`);
  if (blob.size !== file.size) {
    throw new Df11Error('hub', `the endpoint reports ${blob.size} bytes, the tree listing ${file.size}`);
  }
  const target = cache.blobPath(file.blobId);
  // Per process, so that two runs fetching the same blob never write into one file.
  const partial = `${target}.incomplete-${process.pid}`;
  await mkdir(dirname(target), { recursive: true });
  const hash = startHash(file);
  const out = await open(partial, 'w');
  let received = 0;
  try {
    const reader = blob.stream().getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      watchdog.touch();
      received += value.byteLength;
      if (received > file.size) throw new Df11Error('hub', `received more than the listed ${file.size} bytes`);
      hash?.update(value);
      await out.write(value);
      onBytes(received);
    }
  } catch (e) {
    await out.close();
    await rm(partial, { force: true });
    throw e;
  }
  await out.close();
  const digest = hash?.digest('hex');
  if (received !== file.size || (digest !== undefined && digest !== file.blobId)) {
    await rm(partial, { force: true });
    throw new Df11Error('hub', `download corrupt: ${received} of ${file.size} bytes, hash ${digest ?? '-'} instead of ${file.blobId}`);
  }
  await rename(partial, target);
}

function startHash(file: RemoteFile): Hash | undefined {
  if (file.hash === 'sha256') return createHash('sha256');
  if (file.hash === 'git-sha1') return createHash('sha1').update(`blob ${file.size}\0`);
  return undefined;
}

/** Aborts every request of one download when the endpoint stays silent for `limitMs`. */
class IdleWatchdog {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limitMs: number,
    private readonly endpoint: string,
  ) {}

  readonly fetch: typeof fetch = (input, init) => {
    this.touch();
    const signal = init?.signal ? AbortSignal.any([this.controller.signal, init.signal]) : this.controller.signal;
    return fetch(input, { ...init, signal }).then((response) => {
      this.touch();
      return response;
    });
  };

  touch(): void {
    if (this.controller.signal.aborted) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.controller.abort(new Df11Error('hub', `no answer from ${this.endpoint} for ${this.limitMs / 1000} s`));
    }, this.limitMs);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

/** Any failure of a hub download -> Df11Error 'hub' naming the repo, the revision and the file. */
function toHubError(e: unknown, hub: HubModule, repo: string, revision: string, file: string | undefined, endpoint: string): Df11Error {
  const where = `hub repo ${repo}@${revision}${file ? `, file ${file}` : ''}`;
  const context = { ...(file ? { file: `${repo}/${file}` } : {}), cause: e };
  if (e instanceof Df11Error) {
    return e.code === 'hub' && e.message.includes(`hub repo ${repo}`) ? e : new Df11Error('hub', `${where}: ${stripCode(e.message)}`, context);
  }
  if (e instanceof hub.HubApiError) {
    const hint =
      e.statusCode === 401 || e.statusCode === 403 || e.statusCode === 404
        ? ' (it does not exist, or it is private or gated: set HF_TOKEN)'
        : '';
    const url = e.url.replace(/\?.*$/, '');
    const reason = e.message.replace(/\. URL: .*$/s, '');
    return new Df11Error('hub', `${where}: HTTP ${e.statusCode} from ${url}: ${reason}${hint}`, context);
  }
  if (e instanceof Error && e.name === 'AbortError' && e.cause instanceof Df11Error) {
    return new Df11Error('hub', `${where}: ${stripCode(e.cause.message)}`, context);
  }
  const cause = e instanceof Error ? e.cause : undefined;
  const code = cause && typeof cause === 'object' && 'code' in cause ? String(cause.code) : undefined;
  const causeText = cause instanceof Error ? cause.message : undefined;
  const detail = code ? `${code}${causeText ? ` (${causeText})` : ''}` : e instanceof Error ? e.message : String(e);
  return new Df11Error('hub', `${where}: cannot download from ${endpoint}: ${detail} (HF_HUB_OFFLINE=1 uses the cache only)`, context);
}

function stripCode(message: string): string {
  return message.replace(/^[a-z0-9-]+: /, '');
}
