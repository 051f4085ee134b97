// The Huffman tree of dahuffman 0.4.2 `HuffmanCodec.from_frequencies`, which the reference compressor
// uses (df11-format.md §11.2). Reproducing its exact merge order makes the code, and so every encoded
// byte, identical to the reference's.
//
// dahuffman keeps heap items `(freq, [(symbol, (len, value)), ...])`. Python compares them by frequency,
// then by the first leaf's symbol (the "rep"); the EOF pseudo-symbol compares below every symbol. Each
// symbol lives in exactly one node, so (freq, rep) is a strict total order and a linear scan for the two
// smallest nodes reproduces the heap's merge sequence. Merging a (popped first) with b prepends bit 0 to
// every code of a and bit 1 to every code of b; the merged leaf list is a's leaves then b's, so the final
// list is in lexicographic code order.

/** The rep of the EOF node: below every exponent (0..255). */
export const EOF_SYMBOL = -1;

/** One leaf of the finished tree. */
export interface HuffmanLeaf {
  /** Exponent 0..255, or {@link EOF_SYMBOL}. */
  symbol: number;
  /** Code length in bits (may exceed 32 before the limiter, §11.3). */
  length: number;
  /**
   * Code bits, right-aligned. Exact only while `length <= 53` (a double); the DF11 code uses it only
   * after the limiter has brought every length to <= 32.
   */
  value: number;
}

interface TreeNode {
  freq: number;
  rep: number;
  leaves: number[];
}

/**
 * Builds dahuffman's tree for `frequencies` (symbol -> count; symbols with count 0 are absent, as in the
 * reference which builds its map from the values that occur) plus EOF with frequency 1.
 * Returns the leaves in dahuffman's final order (lexicographic code order), EOF included.
 * With no symbols at all the result is the lone EOF leaf with length 0.
 */
export function buildDahuffmanTree(frequencies: ReadonlyArray<readonly [symbol: number, freq: number]>): HuffmanLeaf[] {
  const leaves: HuffmanLeaf[] = [{ symbol: EOF_SYMBOL, length: 0, value: 0 }];
  const nodes: TreeNode[] = [{ freq: 1, rep: EOF_SYMBOL, leaves: [0] }];
  for (const [symbol, freq] of frequencies) {
    if (!(Number.isInteger(symbol) && symbol >= 0) || !(Number.isFinite(freq) && freq > 0)) {
      throw new RangeError(`buildDahuffmanTree: bad entry (${symbol}, ${freq})`);
    }
    nodes.push({ freq, rep: symbol, leaves: [leaves.length] });
    leaves.push({ symbol, length: 0, value: 0 });
  }
  const before = (x: TreeNode, y: TreeNode): boolean => x.freq < y.freq || (x.freq === y.freq && x.rep < y.rep);
  while (nodes.length > 1) {
    // The two smallest nodes by (freq, rep): a first, then b.
    let ia = 0;
    let ib = 1;
    if (before(nodes[1]!, nodes[0]!)) {
      ia = 1;
      ib = 0;
    }
    for (let i = 2; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (before(node, nodes[ia]!)) {
        ib = ia;
        ia = i;
      } else if (before(node, nodes[ib]!)) {
        ib = i;
      }
    }
    const a = nodes[ia]!;
    const b = nodes[ib]!;
    for (const li of a.leaves) leaves[li]!.length++;
    for (const li of b.leaves) {
      const leaf = leaves[li]!;
      leaf.value += 2 ** leaf.length;
      leaf.length++;
    }
    const merged: TreeNode = { freq: a.freq + b.freq, rep: a.rep, leaves: a.leaves.concat(b.leaves) };
    // Remove both, add the merged node (order in `nodes` is irrelevant: the scan finds the minimum).
    const hi = Math.max(ia, ib);
    const lo = Math.min(ia, ib);
    nodes[hi] = nodes[nodes.length - 1]!;
    nodes.pop();
    nodes[lo] = merged;
  }
  return nodes[0]!.leaves.map((li) => leaves[li]!);
}
