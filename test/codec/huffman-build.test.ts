// The Huffman code must be dahuffman 0.4.2's (df11-format.md §11.2) and the limiter the reference's
// (§11.3) with df11's tie policy (§11.4).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Df11Error } from '../../src/errors.js';
import { buildHuffmanCode } from '../../src/codec/huffman-build.js';
import { buildDahuffmanTree, EOF_SYMBOL } from '../../src/codec/huffman-tree.js';

function hist(entries: Record<number, number>): number[] {
  const h = new Array<number>(256).fill(0);
  for (const [e, f] of Object.entries(entries)) h[Number(e)] = f;
  return h;
}

function codeOf(h: number[]): Record<string, [number, number]> {
  const code = buildHuffmanCode(h);
  const out: Record<string, [number, number]> = { EOF: [code.eofLength, code.eofCode] };
  for (let e = 0; e < 256; e++) if (code.lengths[e]! > 0) out[e] = [code.lengths[e]!, code.codes[e]!];
  return out;
}

describe('dahuffman tree', () => {
  it('matches a hand-worked case: {10:1, 11:1, 12:2, 13:4}', () => {
    // Nodes (freq, rep), EOF rep below all: EOF(1) 10(1) 11(1) 12(2) 13(4).
    // 1. pop EOF(1,-1), 10(1,10)  -> (2,-1): EOF=0, 10=1
    // 2. pop 11(1), then (2,-1) beats 12(2,12) on rep -> (3,11): 11=0, EOF=10, 10=11
    // 3. pop 12(2), (3,11)        -> (5,12): 12=0, 11=10, EOF=110, 10=111
    // 4. pop 13(4), (5,12)        -> root:  13=0, 12=10, 11=110, EOF=1110, 10=1111
    assert.deepEqual(codeOf(hist({ 10: 1, 11: 1, 12: 2, 13: 4 })), {
      EOF: [4, 0b1110],
      10: [4, 0b1111],
      11: [3, 0b110],
      12: [2, 0b10],
      13: [1, 0b0],
    });
  });

  it('breaks frequency ties by the leftmost leaf symbol: {20:2, 3:2, 9:1}', () => {
    // EOF(1) 9(1) 3(2) 20(2).
    // 1. EOF, 9          -> (2,-1): EOF=0, 9=1
    // 2. (2,-1) before 3(2,3) before 20(2,20): pop (2,-1), 3 -> (4,-1): EOF=00, 9=01, 3=1
    // 3. 20(2), (4,-1)   -> 20=0, EOF=100, 9=101, 3=11
    assert.deepEqual(codeOf(hist({ 20: 2, 3: 2, 9: 1 })), {
      EOF: [3, 0b100],
      9: [3, 0b101],
      3: [2, 0b11],
      20: [1, 0b0],
    });
  });

  it('handles equal frequencies: {5:3, 6:3, 7:3}', () => {
    // 1. EOF(1), 5(3) -> (4,-1): EOF=0, 5=1.  2. 6(3), 7(3) -> (6,6): 6=0, 7=1.
    // 3. (4,-1), (6,6) -> EOF=00, 5=01, 6=10, 7=11
    assert.deepEqual(codeOf(hist({ 5: 3, 6: 3, 7: 3 })), { EOF: [2, 0], 5: [2, 1], 6: [2, 2], 7: [2, 3] });
  });

  it('gives one exponent the code 1 and EOF the code 0', () => {
    assert.deepEqual(codeOf(hist({ 127: 1000 })), { EOF: [1, 0], 127: [1, 1] });
    assert.deepEqual(codeOf(hist({ 0: 1 })), { EOF: [1, 0], 0: [1, 1] });
  });

  it('returns the leaves in lexicographic code order', () => {
    const leaves = buildDahuffmanTree([
      [10, 1],
      [11, 1],
      [12, 2],
      [13, 4],
    ]);
    assert.deepEqual(
      leaves.map((l) => l.symbol),
      [13, 12, 11, EOF_SYMBOL, 10],
    );
  });

  it('builds a complete prefix code (Kraft sum 1 with EOF) on skewed histograms', () => {
    let seed = 7;
    for (let t = 0; t < 50; t++) {
      const h = new Array<number>(256).fill(0);
      for (let i = 0; i < 40; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        h[100 + i] = Math.floor(2 ** (20 - Math.abs(i - 20)) * (1 + (seed >>> 24) / 256));
      }
      const code = buildHuffmanCode(h);
      let kraft = 2 ** -code.eofLength;
      const words: string[] = [code.eofCode.toString(2).padStart(code.eofLength, '0')];
      for (let e = 0; e < 256; e++) {
        if (code.lengths[e]! === 0) continue;
        kraft += 2 ** -code.lengths[e]!;
        words.push(code.codes[e]!.toString(2).padStart(code.lengths[e]!, '0'));
      }
      assert.equal(kraft, 1);
      words.sort();
      for (let i = 1; i < words.length; i++) assert.ok(!words[i]!.startsWith(words[i - 1]!), `prefix clash ${words[i - 1]} / ${words[i]}`);
    }
  });
});

describe('32-bit length limiter', () => {
  const fib = [1, 1];
  while (fib.length < 40) fib.push(fib[fib.length - 1]! + fib[fib.length - 2]!);

  it('limits Fibonacci frequencies exactly as the reference compressor does', () => {
    const h = hist(Object.fromEntries(fib.map((f, i) => [100 + i, f])));
    // Without the limiter the code is far longer than 32 bits.
    const unlimited = buildDahuffmanTree(fib.map((f, i) => [100 + i, f] as [number, number]));
    assert.ok(Math.max(...unlimited.map((l) => l.length)) > 32);
    const code = buildHuffmanCode(h);
    // Reference (dfloat11_utils.get_32bit_codec with dahuffman 0.4.2) on this histogram: it stops at
    // k = 12 with these lengths for exponents 100..139 and EOF (32 bits, value 4294967238).
    assert.equal(code.limiterDemotions, 12);
    assert.deepEqual(
      [...code.lengths.subarray(100, 140)],
      [32, 32, 32, 32, 32, 32, 32, 32, 32, 31, 31, 31, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
    );
    assert.deepEqual([code.eofLength, code.eofCode], [32, 4294967238]);
  });

  it('stops at the first k whose demoted histogram fits in 32 bits', () => {
    const freqs = fib.map((f, i) => [100 + i, f] as [number, number]);
    const code = buildHuffmanCode(hist(Object.fromEntries(freqs)));
    const k = code.limiterDemotions;
    const demote = (count: number) => buildDahuffmanTree(freqs.map(([s, f], i) => [s, i < count ? 1 : f] as [number, number]));
    assert.ok(Math.max(...demote(k).map((l) => l.length)) <= 32);
    assert.ok(Math.max(...demote(k - 1).map((l) => l.length)) > 32);
    for (const leaf of demote(k)) {
      if (leaf.symbol === EOF_SYMBOL) assert.equal(code.eofLength, leaf.length);
      else assert.deepEqual([code.lengths[leaf.symbol], code.codes[leaf.symbol]], [leaf.length, leaf.value]);
    }
  });

  it('accepts an inert tie at frequency 1 and matches the reference', () => {
    // Three symbols of frequency 1 compete for the k = 2 slots: demoting any of them changes nothing.
    const h = hist({ 150: 1, 151: 1, 152: 1, ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [100 + i, 2 ** (i + 1)])) });
    const code = buildHuffmanCode(h);
    // Reference output for this histogram: k = 15, exponents 100..111 and 150..152 at 32 bits,
    // 112..139 at 28 down to 1 bit; EOF 32 bits, value 0.
    assert.equal(code.limiterDemotions, 15);
    const expected = [...new Array<number>(12).fill(32), ...Array.from({ length: 28 }, (_, i) => 28 - i)];
    assert.deepEqual([...code.lengths.subarray(100, 140)], expected);
    assert.deepEqual([...code.lengths.subarray(150, 153)], [32, 32, 32]);
    assert.deepEqual([...code.codes.subarray(100, 112)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.deepEqual([...code.codes.subarray(150, 153)], [13, 14, 15]);
    assert.deepEqual([code.eofLength, code.eofCode], [32, 0]);
  });

  it('resolves a limiter tie above frequency 1 by the lowest exponents, or throws under the strict policy', () => {
    // Three symbols of frequency 2 for k = 2 slots; the reference's pick (argpartition) is unspecified.
    const h = hist({ 150: 2, 151: 2, 152: 2, ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [100 + i, 2 ** (i + 2)])) });
    const code = buildHuffmanCode(h);
    assert.deepEqual(code.limiterTies, [{ k: 2, boundaryFrequency: 2, tied: 3, slots: 2 }]);
    assert.ok(Math.max(...code.lengths, code.eofLength) <= 32);
    assert.deepEqual(buildHuffmanCode(h, { ties: 'lowest-exponent' }), code);
    assert.throws(
      () => buildHuffmanCode(h, { ties: 'strict' }),
      (e: unknown) =>
        e instanceof Df11Error &&
        e.code === 'ambiguous-limiter-tie' &&
        /k=2/.test(e.message) &&
        /3 symbols/.test(e.message) &&
        /boundary frequency 2 /.test(e.message) &&
        /2 demotion slot/.test(e.message),
    );
  });

  it('leaves codes of at most 32 bits alone', () => {
    const code = buildHuffmanCode(hist({ 120: 5, 121: 9, 122: 1 }));
    assert.equal(code.limiterDemotions, 0);
  });
});

describe('buildHuffmanCode input checks', () => {
  it('rejects exponents of 240 and above', () => {
    assert.throws(() => buildHuffmanCode(hist({ 127: 10, 255: 1 })), (e: unknown) => e instanceof Df11Error && e.code === 'exponent-unencodable' && /exponent 255/.test(e.message));
    assert.throws(() => buildHuffmanCode(hist({ 240: 1 })), (e: unknown) => e instanceof Df11Error && e.code === 'exponent-unencodable');
  });

  it('rejects an empty histogram and malformed counts', () => {
    assert.throws(() => buildHuffmanCode(hist({})), (e: unknown) => e instanceof Df11Error && e.code === 'exponent-unencodable');
    assert.throws(() => buildHuffmanCode(hist({ 3: 1.5 })), RangeError);
    assert.throws(() => buildHuffmanCode(hist({ 3: -1 })), RangeError);
    assert.throws(() => buildHuffmanCode([1, 2, 3]), RangeError);
  });

  it('accepts counts above 2^32', () => {
    const code = buildHuffmanCode(hist({ 126: 2 ** 40, 127: 2 ** 33 + 1, 128: 7 }));
    assert.deepEqual([code.lengths[126], code.lengths[127], code.lengths[128], code.eofLength], [1, 2, 3, 3]);
  });
});
