// Asserts that two safetensors files hold the same tensors (names, dtypes, shapes and data bytes),
// whatever their tensor order, header padding or metadata.
import assert from 'node:assert/strict';
import { SafetensorsReader } from '../../src/format/safetensors-reader.js';

export async function assertSameTensors(actualPath: string, expectedPath: string): Promise<void> {
  const actual = await SafetensorsReader.open(actualPath);
  const expected = await SafetensorsReader.open(expectedPath);
  try {
    assert.deepEqual(actual.names().sort(), expected.names().sort());
    for (const name of expected.names()) {
      const a = actual.entry(name);
      const e = expected.entry(name);
      assert.equal(a.dtype, e.dtype, name);
      assert.deepEqual(a.shape, e.shape, name);
      assert.ok(Buffer.from(await actual.read(name)).equals(Buffer.from(await expected.read(name))), `${name} differs`);
    }
  } finally {
    await actual.close();
    await expected.close();
  }
}
