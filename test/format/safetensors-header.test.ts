// Header parsing and encoding: valid headers, and one hostile header per failure mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Df11Error, type Df11ErrorCode } from '../../src/errors.js';
import {
  encodeSafetensorsHeader,
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  readHeaderLength,
  tensorByteSize,
} from '../../src/format/safetensors-header.js';
import { DTYPE_BYTES, isDtype } from '../../src/format/dtype.js';

const FILE = 'hostile.safetensors';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Parses `json` as the header of a file whose data section has `dataBytes` bytes. */
function parse(json: string | Uint8Array, dataBytes: number) {
  const bytes = typeof json === 'string' ? enc(json) : json;
  return parseSafetensorsHeader(bytes, 8 + bytes.length + dataBytes, FILE);
}

function rejects(code: Df11ErrorCode, json: string | Uint8Array, dataBytes: number, tensor?: string): void {
  assert.throws(
    () => parse(json, dataBytes),
    (e: unknown) => {
      assert.ok(e instanceof Df11Error, `expected Df11Error, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.equal(e.file, FILE);
      if (tensor !== undefined) assert.equal(e.tensor, tensor, e.message);
      return true;
    },
  );
}

const entry = (dtype: string, shape: unknown[], begin: unknown, end: unknown): string =>
  `{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${begin},${end}]}`;

test('dtype table', () => {
  assert.equal(Object.keys(DTYPE_BYTES).length, 15);
  assert.equal(DTYPE_BYTES.BF16, 2);
  assert.equal(DTYPE_BYTES.F8_E4M3, 1);
  assert.equal(DTYPE_BYTES.U64, 8);
  assert.ok(isDtype('BF16'));
  assert.ok(!isDtype('bf16'));
  assert.ok(!isDtype('toString'));
  assert.ok(!isDtype('__proto__'));
});

test('a valid header: tensors in JSON order, absolute offsets, metadata', () => {
  const json = `{"b":${entry('F32', [2, 3], 4, 28)},"__metadata__":{"format":"pt","k":""},"a":${entry('BF16', [2], 0, 4)},"z":${entry('U8', [0], 28, 28)}}`;
  const h = parse(json, 28);
  const start = 8 + enc(json).length;
  assert.equal(h.dataStart, start);
  assert.deepEqual(h.metadata, { format: 'pt', k: '' });
  assert.deepEqual(h.tensors, [
    { name: 'b', dtype: 'F32', shape: [2, 3], start: start + 4, end: start + 28 },
    { name: 'a', dtype: 'BF16', shape: [2], start, end: start + 4 },
    { name: 'z', dtype: 'U8', shape: [0], start: start + 28, end: start + 28 },
  ]);
});

test('edge cases that are valid: empty header, scalar, null metadata, trailing spaces, __proto__ names, escapes', () => {
  assert.deepEqual(parse('{}', 0).tensors, []);
  assert.deepEqual(parse('{}        ', 0).metadata, null);
  assert.deepEqual(parse(`{"s":${entry('F64', [], 0, 8)}}`, 8).tensors[0]?.shape, []);
  assert.equal(parse(`{"__metadata__":null}`, 0).metadata, null);
  const h = parse(`{"__proto__":${entry('U8', [1], 0, 1)},"__metadata__":{"__proto__":"x"},"\\ud83d\\ude00\\n":${entry('U8', [1], 1, 2)}}`, 2);
  assert.deepEqual(h.tensors.map((t) => t.name), ['__proto__', '\u{1F600}\n']);
  assert.ok(h.metadata !== null && Object.hasOwn(h.metadata, '__proto__'));
  assert.equal(h.metadata?.['__proto__'], 'x');
  assert.equal(Object.getPrototypeOf(h.metadata), Object.prototype);
  // zero-size tensors may share an offset with each other and sit at the end
  assert.equal(parse(`{"a":${entry('U8', [0], 0, 0)},"b":${entry('U8', [0, 5], 0, 0)}}`, 0).tensors.length, 2);
});

test('readHeaderLength: truncated-file and header-too-large', () => {
  const prefix = (n: bigint): Uint8Array => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, n, true);
    return b;
  };
  assert.equal(readHeaderLength(prefix(16n), 24, FILE), 16);
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof Df11Error);
      assert.equal(e.file, FILE);
      return e.code;
    }
    return 'none';
  };
  assert.equal(code(() => readHeaderLength(prefix(16n).subarray(0, 5), 5, FILE)), 'truncated-file');
  assert.equal(code(() => readHeaderLength(prefix(16n), 23, FILE)), 'truncated-file');
  assert.equal(code(() => readHeaderLength(prefix(BigInt(MAX_HEADER_BYTES) + 1n), 2 ** 40, FILE)), 'header-too-large');
  assert.equal(code(() => readHeaderLength(prefix(2n ** 64n - 1n), 2 ** 40, FILE)), 'header-too-large');
  assert.equal(code(() => readHeaderLength(prefix(2n ** 32n + 16n), 2 ** 40, FILE)), 'header-too-large');
  assert.equal(code(() => readHeaderLength(prefix(1000n), 24, FILE)), 'truncated-file');
  assert.equal(MAX_HEADER_BYTES, 100_000_000);
});

test('truncated-file: header longer than the file, tensor data past the end of the file', () => {
  assert.throws(() => parseSafetensorsHeader(enc('{}'), 9, FILE), { code: 'truncated-file' });
  rejects('truncated-file', `{"w":${entry('U8', [10], 0, 10)}}`, 9, 'w');
  rejects('truncated-file', `{"a":${entry('U8', [4], 0, 4)},"w":${entry('U64', [2 ** 40], 4, 4 + 2 ** 43)}}`, 4, 'w');
});

test('header-too-large', () => {
  assert.throws(() => parseSafetensorsHeader(new Uint8Array(MAX_HEADER_BYTES + 1), 2 ** 40, FILE), { code: 'header-too-large' });
  assert.throws(() => encodeSafetensorsHeader([], { big: 'x'.repeat(MAX_HEADER_BYTES) }), { code: 'header-too-large' });
});

test('header-invalid-json: syntax, UTF-8, BOM, leading whitespace, not an object, depth', () => {
  for (const bad of ['{', '{"a":}', '{"a" 1}', "{'a':1}", '{"a":1,}', '{"a":[1,]}', '{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":+1}',
    '{"a":tru}', '{"a":"\t"}', '{"a":"\\x"}', '{"a":"\\ud800"}', '{"a":"\\udc00x"}', '{"a":"\\u12G4"}', '{"a":1} x', '{}{}', '{"a":NaN}',
    ' {}', '\n{}', '[]', '"{}"', '', `{"a":${'['.repeat(100)}${']'.repeat(100)}}`]) {
    rejects('header-invalid-json', bad, 0);
  }
  rejects('header-invalid-json', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 0); // invalid UTF-8
  rejects('header-invalid-json', new Uint8Array([0x7b, 0x22, 0xc0, 0x80, 0x22, 0x3a, 0x31, 0x7d]), 0); // overlong NUL
  rejects('header-invalid-json', new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 0); // BOM
  rejects('header-invalid-json', new Uint8Array([0x7b, 0x7d, 0x00]), 0); // NUL padding
});

test('header-invalid: malformed entries, shapes and metadata', () => {
  rejects('header-invalid', '{"w":1}', 0, 'w');
  rejects('header-invalid', '{"w":{"dtype":"U8","shape":[1]}}', 1, 'w');
  rejects('header-invalid', '{"w":{"dtype":8,"shape":[1],"data_offsets":[0,1]}}', 1, 'w');
  rejects('header-invalid', '{"w":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1, 'w');
  rejects('header-invalid', '{"w":{"dtype":"U8","shape":1,"data_offsets":[0,1]}}', 1, 'w');
  for (const dim of ['-1', '1.5', '1.0', '1e0', '-0', '"1"', 'null', '[1]', '9007199254740992', '18446744073709551616']) {
    rejects('header-invalid', `{"w":${entry('U8', [dim], 0, 1)}}`, 1, 'w');
  }
  rejects('header-invalid', '{"__metadata__":{"n":1}}', 0);
  rejects('header-invalid', '{"__metadata__":{"n":null}}', 0);
  rejects('header-invalid', '{"__metadata__":{"n":["a"]}}', 0);
  rejects('header-invalid', '{"__metadata__":{"n":"a","n":"b"}}', 0);
  rejects('header-invalid', '{"__metadata__":"x"}', 0);
  rejects('header-invalid', '{"__metadata__":{},"__metadata__":{}}', 0);
});

test('dtype-unknown', () => {
  for (const d of ['F4', 'bf16', 'Q4_0', '', 'toString', '__proto__']) rejects('dtype-unknown', `{"w":${entry(d, [1], 0, 1)}}`, 1, 'w');
  assert.throws(() => encodeSafetensorsHeader([{ name: 'w', dtype: 'F4' as 'U8', shape: [1] }]), { code: 'dtype-unknown' });
});

test('shape-size-mismatch: wrong product and overflowing product', () => {
  rejects('shape-size-mismatch', `{"w":${entry('BF16', [3, 4], 0, 12)}}`, 12, 'w');
  rejects('shape-size-mismatch', `{"w":${entry('F32', [0], 0, 4)}}`, 4, 'w');
  rejects('shape-size-mismatch', `{"w":${entry('F64', [2 ** 26, 2 ** 26, 2 ** 26], 0, 0)}}`, 0, 'w');
  // 2^50 elements of 8 bytes = 2^53 bytes: one past the largest exact size.
  rejects('shape-size-mismatch', `{"w":${entry('U64', [2 ** 25, 2 ** 25], 0, 2 ** 53 - 1)}}`, 0, 'w');
  assert.equal(tensorByteSize([2 ** 26, 2 ** 26, 2 ** 26], 'U8'), undefined);
  assert.equal(tensorByteSize([2 ** 26, 2 ** 26, 0], 'U8'), 0);
  assert.equal(tensorByteSize([2 ** 26, 2 ** 26], 'U16'), undefined); // 2^53 bytes
  assert.equal(tensorByteSize([2 ** 25, 2 ** 25], 'U16'), 2 ** 51);
  assert.equal(tensorByteSize([3, 5], 'F32'), 60);
  assert.equal(tensorByteSize([-1], 'F32'), undefined);
});

test('offsets-invalid: malformed offsets, begin > end, overlap, gap, uncovered bytes', () => {
  for (const [b, e] of [['-1', '0'], ['0.0', '1'], ['0', '1e0'], ['"0"', '1'], ['0', '9007199254740993']]) {
    rejects('offsets-invalid', `{"w":${entry('U8', [1], b, e)}}`, 1, 'w');
  }
  rejects('offsets-invalid', '{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}', 1, 'w');
  rejects('offsets-invalid', '{"w":{"dtype":"U8","shape":[1],"data_offsets":{"begin":0}}}', 1, 'w');
  rejects('offsets-invalid', `{"w":${entry('U8', [0], 2, 1)}}`, 2, 'w');
  // overlap: b starts inside a
  rejects('offsets-invalid', `{"a":${entry('U8', [4], 0, 4)},"b":${entry('U8', [4], 2, 6)}}`, 6, 'b');
  // the same range twice
  rejects('offsets-invalid', `{"a":${entry('U8', [4], 0, 4)},"b":${entry('U8', [4], 0, 4)}}`, 4, 'b');
  // gap between tensors, and before the first
  rejects('offsets-invalid', `{"a":${entry('U8', [4], 0, 4)},"b":${entry('U8', [4], 5, 9)}}`, 9, 'b');
  rejects('offsets-invalid', `{"a":${entry('U8', [4], 1, 5)}}`, 5, 'a');
  // trailing bytes that no tensor covers
  rejects('offsets-invalid', `{"a":${entry('U8', [4], 0, 4)}}`, 5);
  rejects('offsets-invalid', '{}', 1);
});

test('duplicate-tensor', () => {
  rejects('duplicate-tensor', `{"w":${entry('U8', [1], 0, 1)},"w":${entry('U8', [1], 1, 2)}}`, 2, 'w');
  // an escaped spelling of the same name is the same name
  rejects('duplicate-tensor', `{"w":${entry('U8', [1], 0, 1)},"\\u0077":${entry('U8', [1], 1, 2)}}`, 2, 'w');
  assert.throws(() => encodeSafetensorsHeader([{ name: 'w', dtype: 'U8', shape: [1] }, { name: 'w', dtype: 'U8', shape: [1] }]), {
    code: 'duplicate-tensor',
  });
});

test('encode: __metadata__ first, given order, space padding to 8 bytes, offsets; parses back', () => {
  const tensors = [
    { name: 'z.weight', dtype: 'BF16' as const, shape: [3, 5] },
    { name: 'a', dtype: 'F32' as const, shape: [] },
    { name: 'e', dtype: 'U8' as const, shape: [0] },
    { name: 'naïve "q"\n', dtype: 'I64' as const, shape: [2] },
  ];
  const h = encodeSafetensorsHeader(tensors, { format: 'pt', note: 'ünïcode' });
  assert.equal(h.bytes.length % 8, 0);
  assert.equal(h.dataStart, h.bytes.length);
  const n = Number(new DataView(h.bytes.buffer).getBigUint64(0, true));
  assert.equal(n, h.bytes.length - 8);
  const text = new TextDecoder().decode(h.bytes.subarray(8));
  assert.match(text, /^\{"__metadata__":\{"format":"pt","note":"ünïcode"\},"z\.weight":/);
  assert.match(text, /\} *$/);
  assert.ok(text.trimEnd().length > text.length - 8);
  assert.deepEqual(h.offsets, [{ begin: 0, end: 30 }, { begin: 30, end: 34 }, { begin: 34, end: 34 }, { begin: 34, end: 50 }]);
  assert.equal(h.dataBytes, 50);
  const back = parseSafetensorsHeader(h.bytes.subarray(8), h.dataStart + h.dataBytes, FILE);
  assert.deepEqual(back.metadata, { format: 'pt', note: 'ünïcode' });
  assert.deepEqual(
    back.tensors.map(({ name, dtype, shape, start, end }) => [name, dtype, shape, start - h.dataStart, end - h.dataStart]),
    tensors.map((t, i) => [t.name, t.dtype, t.shape, h.offsets[i]?.begin, h.offsets[i]?.end]),
  );
  assert.deepEqual(parseSafetensorsHeader(encodeSafetensorsHeader([]).bytes.subarray(8), 16, FILE).tensors, []);
  assert.equal(encodeSafetensorsHeader([], null).bytes.length, 16); // "{}" + 6 spaces
});

test('encode: offsets beyond 4 GiB are exact', () => {
  const h = encodeSafetensorsHeader([
    { name: 'a', dtype: 'F32', shape: [3, 2 ** 31] },
    { name: 'b', dtype: 'BF16', shape: [7] },
  ]);
  assert.deepEqual(h.offsets[1], { begin: 3 * 2 ** 33, end: 3 * 2 ** 33 + 14 });
  const back = parseSafetensorsHeader(h.bytes.subarray(8), h.dataStart + h.dataBytes, FILE);
  assert.equal(back.tensors[1]?.end, h.dataStart + 3 * 2 ** 33 + 14);
});

test('encode rejects what the parser would reject', () => {
  const bad = (tensors: { name: string; dtype: 'U8'; shape: number[] }[], meta: Record<string, string> | null, code: Df11ErrorCode): void => {
    assert.throws(() => encodeSafetensorsHeader(tensors, meta), { code });
  };
  bad([{ name: '__metadata__', dtype: 'U8', shape: [1] }], null, 'header-invalid');
  bad([{ name: '\ud800', dtype: 'U8', shape: [1] }], null, 'header-invalid');
  bad([{ name: 'w', dtype: 'U8', shape: [-1] }], null, 'header-invalid');
  bad([{ name: 'w', dtype: 'U8', shape: [1.5] }], null, 'header-invalid');
  bad([{ name: 'w', dtype: 'U8', shape: [2 ** 53] }], null, 'header-invalid');
  bad([{ name: 'w', dtype: 'U8', shape: [2 ** 30, 2 ** 30, 2 ** 30] }], null, 'shape-size-mismatch');
  bad([{ name: 'a', dtype: 'U8', shape: [2 ** 52] }, { name: 'b', dtype: 'U8', shape: [2 ** 52] }], null, 'shape-size-mismatch');
  bad([], { k: 1 as unknown as string }, 'header-invalid');
});

test('Df11Error names the file and the tensor', () => {
  try {
    parse(`{"good":${entry('U8', [1], 0, 1)},"bad.weight":${entry('BF16', [5], 1, 2)}}`, 2);
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof Df11Error);
    assert.match(e.message, /file hostile\.safetensors, tensor bad\.weight/);
  }
});
