// Peak memory bandwidth of a few well-known GPUs, recognised by name in the WebGPU adapter's
// description, for the napkin line of `df11 bench generate` (vendor data sheets, SXM variants
// unless the name says otherwise).

interface Card {
  pattern: RegExp;
  name: string;
  /** Peak DRAM bandwidth, bytes per second. */
  bytesPerSecond: number;
}

const TB = 1e12;

/** Most specific patterns first. */
const CARDS: readonly Card[] = [
  { pattern: /H200/i, name: 'H200 (HBM3e)', bytesPerSecond: 4.8 * TB },
  { pattern: /H100.*PCIe/i, name: 'H100 PCIe', bytesPerSecond: 2.0 * TB },
  { pattern: /H100.*NVL/i, name: 'H100 NVL', bytesPerSecond: 3.9 * TB },
  { pattern: /H100/i, name: 'H100 SXM', bytesPerSecond: 3.35 * TB },
  { pattern: /A100.*80/i, name: 'A100 80GB', bytesPerSecond: 2.039 * TB },
  { pattern: /A100/i, name: 'A100 40GB', bytesPerSecond: 1.555 * TB },
  { pattern: /L40S/i, name: 'L40S', bytesPerSecond: 0.864 * TB },
  { pattern: /RTX 4090/i, name: 'RTX 4090', bytesPerSecond: 1.008 * TB },
];

/** The card named in `text` (adapter description/device), if known. */
export function knownCardBandwidth(text: string): { name: string; bytesPerSecond: number } | undefined {
  const card = CARDS.find((c) => c.pattern.test(text));
  return card === undefined ? undefined : { name: card.name, bytesPerSecond: card.bytesPerSecond };
}
