// The WebAssembly chunk decoder (src/codec/wasm/decode-wasm.ts) against the conformance suite: whole
// units, and the same through decodeChunksWasmInto over all chunks in one call.
import { decodeChunksWasmInto, decodeUnitWasm } from '../../src/codec/wasm/decode-wasm.js';
import { runDecoderConformance } from './suite.js';

runDecoderConformance('cpu-wasm', (unit) => decodeUnitWasm(unit), {
  decodeInto: (unit, out) => {
    // All chunks in one call; K from B as the format defines it (a bad B is the decoder's to reject).
    const chunks = Math.ceil(unit.encodedExponent.length / 4096);
    decodeChunksWasmInto(unit, out, 0, chunks);
  },
});
