// A pool of worker threads that encode whole units in parallel (one unit per worker at a time).
// The caller bounds memory by bounding the number of units it has in flight (see EncodePool.encode).
import { Worker } from 'node:worker_threads';
import { Df11Error } from '../errors.js';
import type { EncodeReply, EncodeRequest, SerializedError } from './encode-messages.js';
import type { LimiterTie, LimiterTiePolicy } from './huffman-build.js';
import type { Df11Unit } from './unit.js';

/** The compiled worker sits beside this file. */
const WORKER_URL = new URL('./encode-worker.js', import.meta.url);

export interface EncodeResult {
  unit: Df11Unit;
  /** Hex SHA-256 of the unit's BF16 bytes (little-endian words in element order), when requested. */
  sha256: string | undefined;
  /** Length-limiter ties resolved by the tie policy (empty when none). */
  limiterTies: LimiterTie[];
}

interface Job {
  request: EncodeRequest;
  name: string | undefined;
  resolve: (r: EncodeResult) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
}

/**
 * Encodes units on `threads` worker threads. Jobs beyond the number of workers wait in a FIFO queue,
 * holding their input; callers that want bounded memory keep at most `threads` jobs outstanding.
 * After `close()` (or a worker crash) every pending and future job rejects.
 */
export class EncodePool {
  readonly threads: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private failure: Df11Error | undefined;

  private constructor(threads: number) {
    this.threads = threads;
    for (let i = 0; i < threads; i++) this.slots.push(this.spawn());
  }

  /** Starts `threads` (>= 1) workers. */
  static create(threads: number): EncodePool {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`EncodePool: threads must be a positive integer, got ${threads}`);
    return new EncodePool(threads);
  }

  /**
   * Encodes one unit. `bf16` is consumed: its buffer is transferred to a worker (copied first if the
   * array is a view on a larger buffer), so the caller must not use it afterwards.
   * `pieceSizes` are the element counts of the unit's attrs (sum = bf16.length); `name` labels errors.
   */
  encode(bf16: Uint16Array, pieceSizes: readonly number[], options: { checksum: boolean; name?: string; ties?: LimiterTiePolicy }): Promise<EncodeResult> {
    if (this.failure) return Promise.reject(this.failure);
    const owned = bf16.byteOffset === 0 && bf16.buffer.byteLength === bf16.byteLength && bf16.buffer instanceof ArrayBuffer ? bf16 : bf16.slice();
    const request: EncodeRequest = {
      id: this.nextId++,
      buffer: owned.buffer as ArrayBuffer,
      elements: owned.length,
      pieceSizes: [...pieceSizes],
      checksum: options.checksum,
      ties: options.ties ?? 'lowest-exponent',
    };
    return new Promise<EncodeResult>((resolve, reject) => {
      this.queue.push({ request, name: options.name, resolve, reject });
      this.pump();
    });
  }

  /** Terminates the workers; pending jobs reject. Safe to call twice. */
  async close(): Promise<void> {
    this.fail(new Df11Error('interrupted', 'encoder pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, job: undefined };
    worker.on('message', (reply: EncodeReply) => this.onReply(slot, reply));
    worker.on('error', (err) => this.fail(new Df11Error('io', `encoder worker failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => {
      if (!this.failure) this.fail(new Df11Error('io', `encoder worker exited unexpectedly (code ${code})`));
    });
    return slot;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job !== undefined) continue;
      const job = this.queue.shift();
      if (job === undefined) return;
      slot.job = job;
      slot.worker.postMessage(job.request, [job.request.buffer]);
    }
  }

  private onReply(slot: Slot, reply: EncodeReply): void {
    const job = slot.job;
    slot.job = undefined;
    if (job === undefined || job.request.id !== reply.id) {
      this.fail(new Df11Error('io', 'encoder worker replied out of order'));
      return;
    }
    if (reply.ok) job.resolve({ unit: reply.unit, sha256: reply.sha256, limiterTies: reply.limiterTies });
    else job.reject(reviveError(reply.error, job.name));
    this.pump();
  }

  private fail(err: Df11Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const slot of this.slots) {
      slot.job?.reject(err);
      slot.job = undefined;
    }
    for (const job of this.queue.splice(0)) job.reject(err);
  }
}

/** Rebuilds a worker's error on this side, keeping its code and naming the unit. */
function reviveError(e: SerializedError, name: string | undefined): Df11Error {
  const detail = e.message.replace(/^[a-z0-9-]+: /, '');
  const err = e.code
    ? new Df11Error(e.code, detail.replace(/ \(tensor [^)]*\)$/, ''), { tensor: e.tensor ?? name })
    : new Df11Error('io', `encoder failed: ${detail}`, { tensor: name });
  if (e.stack) err.stack = e.stack;
  return err;
}
