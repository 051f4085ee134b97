// The chunk decoder (GPU semantics on the CPU) against the conformance suite.
import { decodeChunked, decodeChunksInto } from '../../src/codec/decode-chunked.js';
import { runDecoderConformance } from './suite.js';

runDecoderConformance('cpu-chunked', (unit) => decodeChunked(unit), {
  decodeInto: (unit, out) => {
    // All chunks in one call; K from B as the format defines it (a bad B is the decoder's to reject).
    const chunks = Math.ceil(unit.encodedExponent.length / 4096);
    decodeChunksInto(unit, out, 0, chunks);
  },
});
