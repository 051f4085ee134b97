// `df11 inspect`: what a DF11 model holds, unit by unit, and its compression ratio. Reads headers and
// the small index tensors only (no decoding); structural checks of §10 items 1-5 and 8 run on open.
import type { Df11Model } from '../format/df11-open.js';
import { openDf11ForCli } from './open-df11.js';
import { DF11_FIELDS } from '../format/df11-unit-tensors.js';
import { flagOption, positional } from './args.js';
import { EXIT_OK, type CliCommand, type CliContext, type CommandArgs } from './command.js';
import { formatBytes } from './progress.js';

const BF16_BYTES = 2;
const BITS_PER_BYTE = 8;
const LUT_ROW_BYTES = 256;
const PERCENT = 100;
const JSON_INDENT = 2;

export interface UnitReport {
  path: string;
  pattern: string;
  file: string;
  /** Weights (N). */
  n: number;
  /** Bytes of encoded_exponent (B). */
  b: number;
  /** Chunks (K). */
  k: number;
  lutRows: number;
  pieces: number;
  /** Bytes of the six DF11 tensors. */
  bytes: number;
  bitsPerWeight: number;
  /** Longest code length in the unit's length row. */
  maxCodeBits: number;
  /** Distinct exponents (non-zero entries of the length row). */
  symbols: number;
  checksum: boolean;
  extraTensors: number;
}

export interface InspectReport {
  path: string;
  version: string | undefined;
  configSource: string;
  patternDict: Record<string, string[]>;
  files: number;
  units: UnitReport[];
  totals: {
    units: number;
    weights: number;
    bf16Bytes: number;
    df11Bytes: number;
    /** DF11 bytes / BF16 bytes of the compressed weights. */
    ratio: number;
    bitsPerWeight: number;
    /** Tensors stored uncompressed (unit extras and the rest) and their bytes. */
    otherTensors: number;
    otherBytes: number;
    checksums: number;
  };
}

export const inspectCommand: CliCommand = {
  name: 'inspect',
  summary: 'show the units, sizes and compression ratio of a DF11 model',
  usage: '<df11-dir> [--json]',
  help: `Arguments:
  <df11-dir>       a DF11 model folder (or single DF11 .safetensors file)

Options:
  --json           print one JSON object instead of a table

Per unit: N (weights), B (bitstream bytes), K (4096-byte chunks), LUT rows, bytes of its six DF11
tensors, bits per weight, longest code (bits) and distinct exponents; then totals and the ratio
DF11 bytes / BF16 bytes. Nothing is decoded (use df11 verify for that).`,
  options: { json: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  run: runInspect,
};

async function runInspect(args: CommandArgs, ctx: CliContext): Promise<number> {
  const dir = positional(args, 0, '<df11-dir>');
  const model = await openDf11ForCli(dir);
  try {
    const report = await inspectModel(model);
    ctx.stdout.write(flagOption(args, 'json') ? JSON.stringify(report, null, JSON_INDENT) + '\n' : formatReport(report));
  } finally {
    await model.close();
  }
  return EXIT_OK;
}

/** Builds the report of an opened DF11 model (reads each unit's `luts`). */
export async function inspectModel(model: Df11Model): Promise<InspectReport> {
  const units: UnitReport[] = [];
  for (const u of model.units) {
    const luts = await model.readTensor(u.fields.luts.name);
    const lengths = luts.subarray(luts.length - LUT_ROW_BYTES);
    let maxCodeBits = 0;
    let symbols = 0;
    for (const len of lengths) {
      if (len > 0) symbols++;
      maxCodeBits = Math.max(maxCodeBits, len);
    }
    const bytes = DF11_FIELDS.reduce((s, f) => s + (u.fields[f.name].end - u.fields[f.name].start), 0);
    units.push({
      path: u.path,
      pattern: u.pattern,
      file: u.fields.encoded_exponent.file,
      n: u.geometry.n,
      b: u.geometry.b,
      k: u.geometry.k,
      lutRows: u.geometry.lutRows,
      pieces: u.geometry.pieces,
      bytes,
      bitsPerWeight: (bytes * BITS_PER_BYTE) / u.geometry.n,
      maxCodeBits,
      symbols,
      checksum: u.sha256 !== undefined,
      extraTensors: u.extraTensors.length,
    });
  }
  const weights = units.reduce((s, u) => s + u.n, 0);
  const df11Bytes = units.reduce((s, u) => s + u.bytes, 0);
  const uncompressed = [...model.others, ...model.units.flatMap((u) => u.extraTensors)];
  const otherBytes = uncompressed.reduce((s, n) => {
    const e = model.entry(n);
    return s + (e.end - e.start);
  }, 0);
  const patternDict: Record<string, string[]> = {};
  for (const e of model.df11Config.patternDict) patternDict[e.pattern] = [...e.attrs];
  return {
    path: model.path,
    version: model.df11Config.version,
    configSource: model.configSource,
    patternDict,
    files: model.safetensors.files().length,
    units,
    totals: {
      units: units.length,
      weights,
      bf16Bytes: weights * BF16_BYTES,
      df11Bytes,
      ratio: weights === 0 ? 0 : df11Bytes / (weights * BF16_BYTES),
      bitsPerWeight: weights === 0 ? 0 : (df11Bytes * BITS_PER_BYTE) / weights,
      otherTensors: uncompressed.length,
      otherBytes,
      checksums: units.filter((u) => u.checksum).length,
    },
  };
}

/** The human-readable table. */
export function formatReport(r: InspectReport): string {
  const lines: string[] = [];
  lines.push(`DF11 model: ${r.path}`);
  lines.push(`version: ${r.version ?? '(none)'}; dfloat11_config from ${r.configSource}; ${r.files} safetensors file(s)`);
  lines.push('pattern_dict:');
  for (const [pattern, attrs] of Object.entries(r.patternDict)) lines.push(`  ${pattern} -> [${attrs.join(', ')}]`);
  lines.push('');
  const header = ['unit', 'N', 'B', 'K', 'luts', 'bytes', 'bits/w', 'maxlen', 'syms', 'sha256'];
  const rows = r.units.map((u) => [
    u.path,
    String(u.n),
    String(u.b),
    String(u.k),
    `${u.lutRows}x256`,
    String(u.bytes),
    u.bitsPerWeight.toFixed(3),
    String(u.maxCodeBits),
    String(u.symbols),
    u.checksum ? 'yes' : 'no',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  lines.push(fmt(header));
  for (const row of rows) lines.push(fmt(row));
  const t = r.totals;
  lines.push('');
  lines.push(`units: ${t.units}, weights: ${t.weights}, checksums: ${t.checksums}/${t.units}`);
  lines.push(
    `compressed weights: ${formatBytes(t.bf16Bytes)} BF16 -> ${formatBytes(t.df11Bytes)} DF11: ratio ${(t.ratio * PERCENT).toFixed(2)} %, ${t.bitsPerWeight.toFixed(3)} bits/weight`,
  );
  lines.push(`uncompressed tensors: ${t.otherTensors} (${formatBytes(t.otherBytes)})`);
  return lines.join('\n') + '\n';
}
