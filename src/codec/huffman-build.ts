// The DF11 Huffman code of a unit: dahuffman's tree (huffman-tree.ts) plus the reference compressor's
// 32-bit length limiter and df11's policy for its tie hazard (df11-format.md §11.3-11.4).
import { Df11Error } from '../errors.js';
import { FIRST_POINTER, MAX_CODE_BITS } from './constants.js';
import { EXPONENT_VALUES } from './histogram.js';
import { buildDahuffmanTree, EOF_SYMBOL, type HuffmanLeaf } from './huffman-tree.js';

/** A unit's code table. The code table itself is never stored; it yields the LUTs and the bitstream. */
export interface HuffmanCode {
  /** Code length per exponent 0..255 in bits (1..32); 0 = exponent absent. */
  lengths: Uint8Array;
  /** Code bits per exponent, right-aligned (the low `lengths[e]` bits). */
  codes: Uint32Array;
  /** Length of the EOF pseudo-symbol's code (1..32). */
  eofLength: number;
  /** EOF code bits, right-aligned. */
  eofCode: number;
  /** How many symbols the limiter demoted to frequency 1 (0 when it did not fire). */
  limiterDemotions: number;
  /** Limiter iterations whose demoted set was chosen among tied frequencies > 1 (see {@link LimiterTiePolicy}). */
  limiterTies: LimiterTie[];
}

/**
 * What to do when the length limiter must choose among symbols of equal frequency > 1 (§11.4):
 * - `lowest-exponent` (default): demote the tied symbols with the lowest exponents. The output is a valid,
 *   lossless DF11 unit; it equals the reference's wherever numpy's argpartition picks the same symbols
 *   (it did on the reference runs we measured), but numpy does not specify that order.
 * - `strict`: throw Df11Error 'ambiguous-limiter-tie' rather than risk a code that differs from the reference.
 */
export type LimiterTiePolicy = 'lowest-exponent' | 'strict';

/** One limiter iteration that chose among tied symbols. */
export interface LimiterTie {
  /** Symbols demoted in that iteration. */
  k: number;
  boundaryFrequency: number;
  /** Symbols sharing the boundary frequency, and how many of them were demoted. */
  tied: number;
  slots: number;
}

export interface HuffmanOptions {
  ties?: LimiterTiePolicy;
}

/** One line describing a limiter tie, for warnings and errors. */
export function describeLimiterTie(t: LimiterTie): string {
  return `length limiter at k=${t.k}: ${t.tied} symbols share the boundary frequency ${t.boundaryFrequency} for ${t.slots} demotion slot(s)`;
}

/**
 * Builds the reference compressor's code for a unit's exponent histogram (`hist[e]` = count of exponent
 * e, 256 entries, non-negative integers; counts may exceed 2^32).
 *
 * Tie policy (§11.4): the reference picks the demoted symbols with numpy's argpartition, whose order
 * among equal frequencies is unspecified. When the k-th and (k+1)-th smallest frequencies are equal and
 * greater than 1, the choice changes the code: `options.ties` says what to do (default
 * `lowest-exponent`; every such choice is listed in `limiterTies`). Ties at frequency 1 are inert
 * (demoting such a symbol changes nothing).
 *
 * @throws Df11Error 'exponent-unencodable' when an exponent >= 240 occurs (it cannot be a LUT value, §8.1)
 *   or the histogram is empty; 'ambiguous-limiter-tie' under the `strict` tie policy.
 */
export function buildHuffmanCode(hist: ArrayLike<number>, options: HuffmanOptions = {}): HuffmanCode {
  const tiePolicy = options.ties ?? 'lowest-exponent';
  if (hist.length !== EXPONENT_VALUES) throw new RangeError(`buildHuffmanCode: histogram must have ${EXPONENT_VALUES} entries, got ${hist.length}`);
  const present: Array<[symbol: number, freq: number]> = [];
  for (let e = 0; e < EXPONENT_VALUES; e++) {
    const f = hist[e]!;
    if (!(Number.isSafeInteger(f) && f >= 0)) throw new RangeError(`buildHuffmanCode: count of exponent ${e} is ${f}, not a non-negative integer`);
    if (f === 0) continue;
    if (e >= FIRST_POINTER) {
      throw new Df11Error('exponent-unencodable', `exponent ${e} occurs ${f} times; DF11 can encode exponents 0..${FIRST_POINTER - 1} only (|w| >= 2^113, Inf or NaN)`);
    }
    present.push([e, f]);
  }
  if (present.length === 0) throw new Df11Error('exponent-unencodable', 'empty histogram: a unit needs at least one weight');

  let leaves = buildDahuffmanTree(present);
  let maxLen = longest(leaves);
  let demotions = 0;
  const ties: LimiterTie[] = [];
  if (maxLen > MAX_CODE_BITS) {
    // Candidates in ascending original frequency, ties by ascending exponent.
    const sorted = present.slice().sort((x, y) => x[1] - y[1] || x[0] - y[0]);
    for (let k = 2; maxLen > MAX_CODE_BITS; k++) {
      if (k >= sorted.length) {
        // numpy's argpartition rejects kth >= n; unreachable for <= 240 symbols (k = n-1 leaves codes <= 9 bits).
        throw new Df11Error('exponent-unencodable', `length limiter ran out of symbols to demote (k=${k}, ${sorted.length} symbols)`);
      }
      const boundary = sorted[k - 1]![1];
      if (sorted[k]![1] === boundary && boundary !== 1) {
        let tied = 0;
        let below = 0;
        for (const [, f] of sorted) {
          if (f === boundary) tied++;
          else if (f < boundary) below++;
        }
        const tie: LimiterTie = { k, boundaryFrequency: boundary, tied, slots: k - below };
        if (tiePolicy === 'strict') {
          throw new Df11Error(
            'ambiguous-limiter-tie',
            `${describeLimiterTie(tie)}; the reference's choice (numpy argpartition) is unspecified, so a byte-identical code cannot be guaranteed`,
          );
        }
        ties.push(tie);
      }
      const demoted = new Set<number>();
      for (let j = 0; j < k; j++) demoted.add(sorted[j]![0]);
      leaves = buildDahuffmanTree(present.map(([s, f]) => [s, demoted.has(s) ? 1 : f] as [number, number]));
      maxLen = longest(leaves);
      demotions = k;
    }
  }

  const code: HuffmanCode = {
    lengths: new Uint8Array(EXPONENT_VALUES),
    codes: new Uint32Array(EXPONENT_VALUES),
    eofLength: 0,
    eofCode: 0,
    limiterDemotions: demotions,
    limiterTies: ties,
  };
  for (const leaf of leaves) {
    if (leaf.symbol === EOF_SYMBOL) {
      code.eofLength = leaf.length;
      code.eofCode = leaf.value;
    } else {
      code.lengths[leaf.symbol] = leaf.length;
      code.codes[leaf.symbol] = leaf.value;
    }
  }
  return code;
}

function longest(leaves: readonly HuffmanLeaf[]): number {
  let m = 0;
  for (const leaf of leaves) if (leaf.length > m) m = leaf.length;
  return m;
}

/** S, the stream length in bits, for a histogram coded with `code`: sum of count x length (§5). */
export function streamBits(hist: ArrayLike<number>, code: HuffmanCode): number {
  let s = 0;
  for (let e = 0; e < EXPONENT_VALUES; e++) {
    const f = hist[e]!;
    if (f === 0) continue;
    const len = code.lengths[e]!;
    if (len === 0) throw new RangeError(`streamBits: exponent ${e} occurs but has no code`);
    s += f * len;
  }
  return s;
}
