// `df11 bench decode` end to end on the tiny unit (SwiftShader in CI): the default decoder (the indexed
// kernel, its index built by the chunk kernel) and the portable kernel decode it bit for bit and the
// report has a row for each, next to the copy baseline; bad options are usage errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runDf11 } from './cli-harness.js';

describe('df11 bench decode', () => {
  it('decodes the tiny unit with the default and the portable kernel and reports both', async () => {
    const r = await runDf11(['bench', 'decode', '--units', 'tiny', '--iterations', '1', '--portable', '--no-cache']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^adapter: /m);
    assert.match(r.stdout, /^tiny \(decode-indexed-wg64 \(index: decode-wg(256|512)\)\): bit-exact; /m);
    assert.match(r.stdout, /^tiny \(decode-portable\): bit-exact; /m);
    for (const kernel of ['decode-indexed-wg64', 'decode-portable']) {
      assert.match(r.stdout, new RegExp(`^tiny +${kernel} +0\\.4 M +10\\.[0-9]{3} +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$`, 'm'));
    }
  });

  it('refuses unknown units', async () => {
    const r = await runDf11(['bench', 'decode', '--units', 'tiny,huge']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--units takes/);
  });
});
