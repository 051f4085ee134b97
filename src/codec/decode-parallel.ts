// Multi-threaded CPU decoding: a pool of worker_threads that split a unit's chunks between them
// (decode-chunked.ts does the work). The unit and the output live in SharedArrayBuffers, so no chunk
// is copied: workers take batches of chunk indices from a shared atomic counter and write their
// elements straight into the output. A pool decodes one unit at a time, using all its threads.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Df11Error, type Df11ErrorCode } from '../errors.js';
import { readChunkIndex } from './chunk-index.js';
import type { DecodeJob, DecodeReply } from './decode-messages.js';
import type { Df11Unit } from './unit.js';
import type { DecodeKernel } from './wasm/chunk-kernel.js';
import type { UnitContext } from './validate-unit.js';

/** The compiled worker sits beside this file. */
const WORKER_URL = new URL('./decode-worker.js', import.meta.url);
/** Aim for this many batches per thread, so fast threads take over the chunks of slow ones. */
const BATCHES_PER_THREAD = 8;
/** Chunks per batch at most (~0.8 M elements), to keep the shared counter off the hot path. */
const MAX_BATCH_CHUNKS = 64;

export interface DecodePoolOptions {
  /** Worker threads (>= 1). Default: os.availableParallelism(). */
  threads?: number;
  /**
   * The workers' chunk decoder: 'auto' (default; WebAssembly where available, else TypeScript),
   * 'wasm' (a decode rejects where WebAssembly is unavailable), 'js'. The output is the same.
   */
  kernel?: DecodeKernel;
}

interface Pending {
  id: number;
  replies: DecodeReply[];
  expected: number;
  done: () => void;
}

/**
 * A reusable pool of decode threads. Workers hold no reference to the process while idle, so a pool
 * that is never closed does not keep Node alive; `close()` ends them at once.
 * Decodes queue up: each one uses every thread.
 */
export class DecodePool {
  readonly threads: number;
  readonly kernel: DecodeKernel;
  private readonly workers: Worker[] = [];
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private nextId = 1;

  constructor(options: DecodePoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`DecodePool: threads must be a positive integer, got ${threads}`);
    this.threads = threads;
    this.kernel = options.kernel ?? 'auto';
    for (let i = 0; i < threads; i++) this.workers.push(this.spawn());
  }

  /**
   * Decodes `unit` into a new array of N BF16 bit patterns, backed by a SharedArrayBuffer.
   * Input tensors already on a SharedArrayBuffer are used in place; others are copied once.
   * @throws (rejects) Df11Error with the code the chunk decoder raised (see decodeChunksInto), naming
   *   `context`'s file and tensor; Error when the pool is closed or a worker died.
   */
  async decode(unit: Df11Unit, context: UnitContext = {}): Promise<Uint16Array> {
    const index = readChunkIndex(unit, context);
    const out = new Uint16Array(new SharedArrayBuffer(index.elements * Uint16Array.BYTES_PER_ELEMENT));
    await this.enqueue(unit, index.chunks, out, context);
    return out;
  }

  /**
   * Decodes `unit` into `out[0, N)` (`out.length >= N`); nothing else of `out` is written. An `out`
   * on a SharedArrayBuffer is written in place, any other through a shared staging copy.
   * Same errors as {@link decode}; on error `out` may be partly written.
   */
  async decodeInto(unit: Df11Unit, out: Uint16Array, context: UnitContext = {}): Promise<void> {
    const index = readChunkIndex(unit, context);
    const n = index.elements;
    if (out.length < n) throw new RangeError(`DecodePool.decodeInto: output holds ${out.length} elements; the unit has ${n}`);
    const direct = out.buffer instanceof SharedArrayBuffer;
    const target = direct ? out.subarray(0, n) : new Uint16Array(new SharedArrayBuffer(n * Uint16Array.BYTES_PER_ELEMENT));
    await this.enqueue(unit, index.chunks, target, context);
    if (!direct) out.set(target);
  }

  /** Runs a decode after those already queued (each one uses every thread). */
  private enqueue(unit: Df11Unit, chunks: number, out: Uint16Array, context: UnitContext): Promise<void> {
    const run = (): Promise<void> => this.run(unit, chunks, out, context);
    const job = this.queue.then(run, run);
    this.queue = job.catch(() => undefined);
    return job;
  }

  /** Ends the workers; decodes in flight or queued reject. Safe to call more than once. */
  async close(): Promise<void> {
    if (!this.failure) this.failure = new Error('DecodePool is closed');
    this.finish();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private spawn(): Worker {
    // Node flags are inherited, except --input-type, which a Worker refuses (a host run with `-e`).
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const worker = new Worker(WORKER_URL, { execArgv });
    worker.unref();
    worker.on('message', (reply: DecodeReply) => {
      const p = this.pending;
      if (!p || reply.id !== p.id) return;
      p.replies.push(reply);
      if (p.replies.length === p.expected) this.finish();
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => {
      if (!this.failure) this.fail(new Error(`decode worker exited with code ${code}`));
    });
    return worker;
  }

  private fail(e: Error): void {
    if (!this.failure) this.failure = e;
    this.finish();
  }

  private finish(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    for (const w of this.workers) w.unref();
    p.done();
  }

  private async run(unit: Df11Unit, chunks: number, out: Uint16Array, context: UnitContext): Promise<void> {
    if (this.failure) throw this.failure;
    const workers = this.workers.slice(0, Math.min(this.threads, chunks));
    const batch = Math.max(1, Math.min(MAX_BATCH_CHUNKS, Math.floor(chunks / (workers.length * BATCHES_PER_THREAD))));
    const job: DecodeJob = {
      id: this.nextId++,
      luts: shared(unit.luts),
      encodedExponent: shared(unit.encodedExponent),
      signMantissa: shared(unit.signMantissa),
      outputPositions: shared(unit.outputPositions),
      gaps: shared(unit.gaps),
      out,
      nextChunk: new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)),
      batch,
      file: context.file,
      tensor: context.tensor,
      kernel: this.kernel,
    };
    const replies: DecodeReply[] = [];
    await new Promise<void>((resolve) => {
      this.pending = { id: job.id, replies, expected: workers.length, done: resolve };
      for (const w of workers) {
        w.ref();
        w.postMessage(job);
      }
    });
    if (replies.length < workers.length) throw this.failure ?? new Error('DecodePool: decode interrupted');
    const failed = replies.filter((r) => !r.ok);
    // Prefer a Df11Error: a worker that merely stopped because another failed reports nothing.
    const first = failed.find((r) => r.code !== undefined) ?? failed[0];
    if (first && !first.ok) throw rebuildError(first.code, first.message, first.stack, context);
  }
}

/**
 * Decodes one unit on a temporary pool of `threads` workers (default os.availableParallelism()).
 * For many units, reuse a {@link DecodePool}: starting workers costs milliseconds.
 */
export async function decodeUnitParallel(unit: Df11Unit, options: DecodePoolOptions = {}): Promise<Uint16Array> {
  const pool = new DecodePool(options);
  try {
    return await pool.decode(unit);
  } finally {
    await pool.close();
  }
}

/** `a` itself when it is on a SharedArrayBuffer, else a shared copy. */
function shared(a: Uint8Array): Uint8Array {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const copy = new Uint8Array(new SharedArrayBuffer(a.length));
  copy.set(a);
  return copy;
}

/** The worker's error as thrown on this thread: a Df11Error with the same code and message. */
function rebuildError(code: Df11ErrorCode | undefined, message: string, stack: string | undefined, context: UnitContext): Error {
  if (code === undefined) {
    const e = new Error(`decode worker: ${message}`);
    if (stack) e.stack = `${e.stack}\n    --- in the worker ---\n${stack}`;
    return e;
  }
  const detail = message.replace(/^[a-z0-9-]+: /, '').replace(/ \((file|tensor) [^)]*\)$/, '');
  return new Df11Error(code, detail, context);
}
