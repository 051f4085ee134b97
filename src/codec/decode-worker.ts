// Worker thread of DecodePool (decode-parallel.ts): takes batches of chunks from a shared counter and
// decodes them with the chunk decoder (the job's kernel: WebAssembly where available, see
// wasm/chunk-kernel.ts) straight into the shared output.
import { parentPort } from 'node:worker_threads';
import { Df11Error } from '../errors.js';
import type { DecodeJob, DecodeReply } from './decode-messages.js';
import { prepareChunkRangeDecoder } from './wasm/chunk-kernel.js';

const port = parentPort;
if (!port) throw new Error('decode-worker.js must run as a worker thread');
/** Counter value that stops every worker of a job; far above any K (< 2^19) yet far from int32 overflow. */
const STOP_COUNTER = 1 << 30;

port.on('message', (job: DecodeJob) => {
  let reply: DecodeReply;
  const counter = job.nextChunk;
  try {
    const decoder = prepareChunkRangeDecoder(
      {
        luts: job.luts,
        encodedExponent: job.encodedExponent,
        signMantissa: job.signMantissa,
        outputPositions: job.outputPositions,
        gaps: job.gaps,
        splitPositions: new BigInt64Array(0),
      },
      { file: job.file, tensor: job.tensor },
      job.kernel,
    );
    const chunks = decoder.chunks;
    let done = 0;
    for (;;) {
      const first = Atomics.add(counter, 0, job.batch);
      if (first >= chunks) break;
      const end = Math.min(chunks, first + job.batch);
      decoder.decode(job.out, first, end);
      done += end - first;
    }
    reply = { id: job.id, ok: true, chunks: done };
  } catch (e) {
    // Stop the other workers early.
    Atomics.store(counter, 0, STOP_COUNTER);
    const err = e instanceof Error ? e : new Error(String(e));
    reply = { id: job.id, ok: false, code: e instanceof Df11Error ? e.code : undefined, message: err.message, stack: err.stack };
  }
  port.postMessage(reply);
});
