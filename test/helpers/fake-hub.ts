// A Hugging Face hub stand-in for tests: a node:http server on 127.0.0.1 (random port) that serves
// in-memory model repos with the endpoints @huggingface/hub calls, as the real hub answers them:
//   GET /api/models/{org}/{name}[/revision/{rev}]          model info, `sha` = the commit id
//   GET /api/models/{org}/{name}/tree/{rev}[/{path}]       tree listing, paginated with a Link header
//   GET|HEAD /{org}/{name}/resolve/{rev}/{path}            small files directly; LFS files redirect
//   GET|HEAD /cdn/{sha256}                                 to this "CDN"; both honour `Range`
// Unknown repos answer 404 with `X-Error-Code: RepoNotFound`, unknown files `EntryNotFound`. Every
// request is logged; requests to anything else are logged as unknown and answered 404.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Files at or above this size are stored as LFS (redirect to the CDN), as the hub does for weights. */
const LFS_MIN_BYTES = 1024;
/** Tree entries per page, small so that tests exercise the Link-header pagination. */
const TREE_PAGE_SIZE = 2;

export type FakeRepos = Record<string, Record<string, Uint8Array>>;

export interface FakeHub {
  endpoint: string;
  /** `METHOD path?query` of every request, in order. */
  requests: string[];
  /** Requests that matched no hub endpoint. */
  unknown: string[];
  commitOf(repo: string): string;
  /** Stops the server and drops open connections; safe to call more than once. */
  close(): Promise<void>;
}

interface FakeFile {
  path: string;
  data: Uint8Array;
  gitOid: string;
  lfsOid: string | undefined;
}

export interface FakeHubOptions {
  /** Repo paths whose served bytes get one bit flipped (the listing keeps the true hash). */
  tamper?: string[];
}

export async function startFakeHub(repos: FakeRepos, options: FakeHubOptions = {}): Promise<FakeHub> {
  const files = new Map<string, FakeFile[]>();
  const cdn = new Map<string, Uint8Array>();
  for (const [repo, entries] of Object.entries(repos)) {
    const list: FakeFile[] = [];
    for (const [path, data] of Object.entries(entries)) {
      const lfsOid = data.byteLength >= LFS_MIN_BYTES ? createHash('sha256').update(data).digest('hex') : undefined;
      const gitOid = createHash('sha1').update(`blob ${data.byteLength}\0`).update(data).digest('hex');
      const served = options.tamper?.includes(path) ? flipFirstBit(data) : data;
      if (lfsOid) cdn.set(lfsOid, served);
      list.push({ path, data: served, gitOid, lfsOid });
    }
    files.set(repo, list);
  }
  const commitOf = (repo: string): string => createHash('sha1').update(`commit ${repo}`).digest('hex');
  const requests: string[] = [];
  const unknown: string[] = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    try {
      if (!route(req, res, url)) {
        unknown.push(`${req.method} ${url.pathname}`);
        sendJson(res, 404, { error: 'unknown endpoint' });
      }
    } catch (e) {
      sendJson(res, 500, { error: String(e) });
    }
  });

  function route(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const p = decodeURIComponent(url.pathname);
    let m = /^\/api\/models\/([^/]+\/[^/]+)(?:\/revision\/([^/]+))?$/.exec(p);
    if (m && req.method === 'GET') {
      const repo = m[1]!;
      const list = files.get(repo);
      if (!list || !revisionOk(repo, m[2])) return notFound(res, list === undefined);
      sendJson(res, 200, {
        _id: `id-${repo}`,
        id: repo,
        sha: commitOf(repo),
        private: false,
        gated: false,
        downloads: 0,
        likes: 0,
        lastModified: '2024-01-01T00:00:00.000Z',
        siblings: list.map((f) => ({ rfilename: f.path })),
      });
      return true;
    }
    m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(p);
    if (m && req.method === 'GET') {
      const repo = m[1]!;
      const list = files.get(repo);
      if (!list || !revisionOk(repo, m[2])) return notFound(res, list === undefined);
      sendTree(res, url, list, m[3] ?? '', url.searchParams.get('recursive') === 'true');
      return true;
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    if (m && (req.method === 'GET' || req.method === 'HEAD')) {
      const repo = m[1]!;
      const list = files.get(repo);
      if (!list || !revisionOk(repo, m[2])) return notFound(res, list === undefined);
      const file = list.find((f) => f.path === m![3]);
      if (!file) {
        res.writeHead(404, { 'X-Error-Code': 'EntryNotFound', 'Content-Type': 'text/plain' }).end('Entry not found');
        return true;
      }
      const headers = { 'X-Repo-Commit': commitOf(repo), ETag: `"${file.lfsOid ?? file.gitOid}"` };
      if (file.lfsOid) {
        res.writeHead(302, {
          ...headers,
          'X-Linked-Etag': `"${file.lfsOid}"`,
          'X-Linked-Size': String(file.data.byteLength),
          Location: `/cdn/${file.lfsOid}`,
        });
        res.end();
        return true;
      }
      sendBytes(req, res, file.data, headers);
      return true;
    }
    m = /^\/cdn\/([0-9a-f]{64})$/.exec(p);
    if (m && (req.method === 'GET' || req.method === 'HEAD')) {
      const data = cdn.get(m[1]!);
      if (!data) return false;
      sendBytes(req, res, data, { ETag: `"${m[1]!}"` });
      return true;
    }
    return false;
  }

  function revisionOk(repo: string, rev: string | undefined): boolean {
    return rev === undefined || rev === 'main' || rev === 'HEAD' || rev === commitOf(repo);
  }

  function sendTree(res: ServerResponse, url: URL, list: FakeFile[], under: string, recursive: boolean): void {
    const prefix = under ? `${under}/` : '';
    const entries: object[] = [];
    const dirs = new Set<string>();
    for (const f of list) {
      if (!f.path.startsWith(prefix)) continue;
      const rest = f.path.slice(prefix.length).split('/');
      for (let depth = 1; depth < rest.length && (recursive || depth === 1); depth++) {
        dirs.add(prefix + rest.slice(0, depth).join('/'));
      }
      if (!recursive && rest.length > 1) continue;
      entries.push({
        type: 'file',
        oid: f.gitOid,
        size: f.lfsOid ? 134 : f.data.byteLength,
        path: f.path,
        ...(f.lfsOid ? { lfs: { oid: f.lfsOid, size: f.data.byteLength, pointerSize: 134 } } : {}),
      });
    }
    for (const d of dirs) entries.push({ type: 'directory', oid: createHash('sha1').update(d).digest('hex'), size: 0, path: d });
    const start = Number(url.searchParams.get('cursor') ?? '0');
    const page = entries.slice(start, start + TREE_PAGE_SIZE);
    const headers: Record<string, string> = {};
    if (start + TREE_PAGE_SIZE < entries.length) {
      const next = new URL(url.toString());
      next.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      next.searchParams.set('cursor', String(start + TREE_PAGE_SIZE));
      headers['Link'] = `<${next.toString()}>; rel="next"`;
    }
    sendJson(res, 200, page, headers);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    unknown,
    commitOf,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The hub's 404 for an unknown repo or revision; returns true (the request was handled). */
function notFound(res: ServerResponse, repoMissing: boolean): true {
  if (repoMissing) sendJson(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
  else sendJson(res, 404, { error: 'Invalid rev id' }, { 'X-Error-Code': 'RevisionNotFound' });
  return true;
}

/** 200 with the whole file, or 206 for a `Range: bytes=a-b` request, as a CDN answers. */
function sendBytes(req: IncomingMessage, res: ServerResponse, data: Uint8Array, headers: Record<string, string>): void {
  const base = { ...headers, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (range) {
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : data.byteLength - 1, data.byteLength - 1);
    if (start > end) {
      res.writeHead(416, { ...base, 'Content-Range': `bytes */${data.byteLength}` }).end();
      return;
    }
    res.writeHead(206, { ...base, 'Content-Range': `bytes ${start}-${end}/${data.byteLength}`, 'Content-Length': end - start + 1 });
    res.end(req.method === 'HEAD' ? undefined : data.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { ...base, 'Content-Length': data.byteLength });
  res.end(req.method === 'HEAD' ? undefined : data);
}

function flipFirstBit(data: Uint8Array): Uint8Array {
  const copy = new Uint8Array(data);
  copy[0] = copy[0]! ^ 1;
  return copy;
}
