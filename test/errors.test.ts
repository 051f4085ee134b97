import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Df11Error } from '../src/errors.js';

test('Df11Error names the file and tensor and keeps its code', () => {
  const e = new Df11Error('offsets-invalid', 'range past end of file', { file: 'a.safetensors', tensor: 'w' });
  assert.equal(e.code, 'offsets-invalid');
  assert.match(e.message, /offsets-invalid: range past end of file \(file a\.safetensors, tensor w\)/);
  const bare = new Df11Error('corrupt-zero-length', 'zero-length code at bit 12');
  const filled = bare.withContext({ file: 'f', tensor: 'model.layers.0' });
  assert.equal(filled.message, 'corrupt-zero-length: zero-length code at bit 12 (file f, tensor model.layers.0)');
  assert.equal(filled.code, 'corrupt-zero-length');
});
