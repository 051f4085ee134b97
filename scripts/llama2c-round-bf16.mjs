// Writes a copy of a llama2.c checkpoint (legacy v0 layout: seven int32 header words, then float32
// arrays) whose every float is rounded to BF16 (round to nearest even) and widened back to float32.
// Layout and header are unchanged, so llama2.c's run.c reads it as it is. Used to make the greedy
// reference of test/fixtures/stories260K-greedy-120.json: run.c on these weights computes with the
// same weight values as the BF16 safetensors model.
//
//   node scripts/llama2c-round-bf16.mjs <in.bin> <out.bin>
import { readFileSync, writeFileSync } from 'node:fs';

const HEADER_BYTES = 7 * 4;
const [input, output] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  process.stderr.write('usage: node scripts/llama2c-round-bf16.mjs <in.bin> <out.bin>\n');
  process.exit(2);
}
const bytes = readFileSync(input);
if ((bytes.length - HEADER_BYTES) % 4 !== 0 || bytes.length < HEADER_BYTES) throw new Error(`${input}: not a float32 llama2.c checkpoint`);
const out = Buffer.from(bytes);
const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
for (let at = HEADER_BYTES; at < out.length; at += 4) {
  const bits = view.getUint32(at, true);
  const isNaN = (bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0;
  // Round to nearest even on the 16 bits dropped; NaNs keep a quiet NaN payload.
  const rounded = isNaN ? (bits | 0x00400000) & 0xffff0000 : ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16;
  view.setUint32(at, rounded >>> 0, true);
}
writeFileSync(output, out);
