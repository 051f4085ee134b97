// Decoder fuzzing with a fixed budget: 10,000 seeded mutations of valid units through the serial and the
// chunk decoder (properties in test/helpers/decoder-fuzz.ts). Longer runs: bench/fuzz-decoders.ts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { concat, LLAMA_LAYER_ATTRS, readDemoBf16 } from './helpers.js';
import { fuzzBases, fuzzDecoders } from '../helpers/decoder-fuzz.js';
import { sharedDemoModelDir } from '../helpers/paths.js';

const CASES = 10_000;
const SEED = 0x0df11;

test(`decoders on ${CASES} mutated units: Df11Error or identical data, never a wrong answer`, { timeout: 60_000 }, () => {
  let demoLayer: Uint16Array | undefined;
  if (existsSync(join(sharedDemoModelDir(), 'model.safetensors'))) {
    const tensors = readDemoBf16();
    demoLayer = concat(LLAMA_LAYER_ATTRS.map((a) => tensors.get(`model.layers.1.${a}.weight`)!));
  }
  const stats = fuzzDecoders(fuzzBases(demoLayer), SEED, CASES);
  assert.equal(stats.cases, CASES);
  // The mix must exercise every branch: successful decodes, stream errors, index errors.
  const seen = [...stats.outcomes.keys()].join(' ');
  for (const want of ['serial:ok/chunked:ok', 'chunked:gap-mismatch', 'chunked:chunk-count-mismatch', 'serial:stream-length-mismatch', 'chunked:unit-invalid']) {
    assert.ok(seen.includes(want), `no case ended with ${want}; outcomes: ${seen}`);
  }
  assert.ok(stats.structurallyValid > CASES / 4, `only ${stats.structurallyValid} cases passed validateUnit`);
});
