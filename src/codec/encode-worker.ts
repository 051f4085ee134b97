// Worker thread body for encode-parallel.ts: encodes one unit per message (histogram, Huffman code,
// lookup tables, bitstream) and optionally hashes its BF16 bytes; the six tensors go back by transfer.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { Df11Error } from '../errors.js';
import { encodeUnit } from './encode.js';
import type { EncodeReply, EncodeRequest } from './encode-messages.js';
import type { LimiterTie } from './huffman-build.js';
import type { Df11Unit } from './unit.js';

const port = parentPort;
if (port === null) throw new Error('encode-worker.js must run as a worker thread');

port.on('message', (req: EncodeRequest) => {
  let reply: EncodeReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const bf16 = new Uint16Array(req.buffer, 0, req.elements);
    const sha256 = req.checksum
      ? createHash('sha256').update(new Uint8Array(req.buffer, 0, req.elements * 2)).digest('hex')
      : undefined;
    let limiterTies: LimiterTie[] = [];
    const unit = encodeUnit(bf16, req.pieceSizes, { ties: req.ties, onLimiterTies: (t) => (limiterTies = t) });
    reply = { id: req.id, ok: true, unit, sha256, limiterTies };
    transfer = uniqueBuffers(unit);
  } catch (err) {
    const e = err instanceof Df11Error ? err : undefined;
    reply = {
      id: req.id,
      ok: false,
      error: {
        code: e?.code,
        message: err instanceof Error ? err.message : String(err),
        tensor: e?.tensor,
        stack: err instanceof Error ? err.stack : undefined,
      },
    };
  }
  port.postMessage(reply, transfer);
});

/** The distinct ArrayBuffers behind the unit's tensors (a buffer may only be listed once). */
function uniqueBuffers(unit: Df11Unit): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const a of [unit.luts, unit.encodedExponent, unit.signMantissa, unit.outputPositions, unit.gaps, unit.splitPositions]) {
    if (a.buffer instanceof ArrayBuffer) set.add(a.buffer);
  }
  return [...set];
}
