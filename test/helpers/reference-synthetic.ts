// Regenerates the inputs of the reference compressor's synthetic units
// (test/fixtures/reference/synthetic.json, made by bench/reference/synthetic_units.py): the same
// mulberry32 draws and the same float rules, so both sides hash identical BF16 bytes.
import { mulberry32 } from '../../src/synthetic/weights.js';

export interface SyntheticParams {
  name: string;
  kind: 'irwin-hall' | 'counts';
  seed: number;
  n?: number;
  scale?: number;
  stride?: number;
  counts?: [number, number][];
}

const TWO_POW_32 = 4294967296;
const IRWIN_HALL_TERMS = 12;

export function referenceSyntheticInput(p: SyntheticParams): Uint16Array {
  const draw = mulberry32(p.seed);
  if (p.kind === 'irwin-hall') {
    const n = p.n!;
    const out = new Uint16Array(n);
    const f32 = new Float32Array(1);
    const bits = new Uint32Array(f32.buffer);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < IRWIN_HALL_TERMS; t++) s += draw();
      f32[0] = (s / TWO_POW_32 - IRWIN_HALL_TERMS / 2) * p.scale!;
      const b = bits[0]!;
      out[j] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
    }
    return out;
  }
  const counts = p.counts!;
  const n = counts.reduce((a, [, c]) => a + c, 0);
  const exponents = new Uint8Array(n);
  let k = 0;
  for (const [e, c] of counts) {
    for (let i = 0; i < c; i++, k++) exponents[(k * p.stride!) % n] = e;
  }
  const out = new Uint16Array(n);
  for (let j = 0; j < n; j++) {
    const sm = draw() & 0xff;
    out[j] = ((sm & 0x80) << 8) | (exponents[j]! << 7) | (sm & 0x7f);
  }
  return out;
}
