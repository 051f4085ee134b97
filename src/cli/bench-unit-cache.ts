// Encoded DF11 units of the synthetic benchmark models, cached on disk (`.cache/bench/` by default)
// so that reruns skip the encoder. A cache file holds one unit: a magic line, a JSON line with the
// byte length of each field, then the fields' bytes. A file that does not parse is ignored (and
// rewritten); the key names everything the unit depends on.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Df11Unit } from '../codec/unit.js';

const MAGIC = 'df11-bench-unit 1\n';
const FIELDS = ['luts', 'encodedExponent', 'signMantissa', 'outputPositions', 'gaps', 'splitPositions'] as const;
const NEWLINE = 0x0a;

function fieldBytes(unit: Df11Unit, f: (typeof FIELDS)[number]): Uint8Array {
  const a = unit[f];
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The cache file of `key` (letters, digits, '.', '-' and '_' only) under `dir`. */
export function unitCachePath(dir: string, key: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(key)) throw new RangeError(`bad cache key ${key}`);
  return join(dir, `${key}.unit`);
}

/** The cached unit, or undefined when there is none or it does not parse. */
export async function readCachedUnit(path: string): Promise<Df11Unit | undefined> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch {
    return undefined;
  }
  const magic = Buffer.from(MAGIC);
  if (data.length < magic.length || !data.subarray(0, magic.length).equals(magic)) return undefined;
  const end = data.indexOf(NEWLINE, magic.length);
  if (end < 0) return undefined;
  let lengths: unknown;
  try {
    lengths = JSON.parse(data.subarray(magic.length, end).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(lengths) || lengths.length !== FIELDS.length || !lengths.every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
  const sizes = lengths as number[];
  let at = end + 1;
  if (at + sizes.reduce((s, n) => s + n, 0) !== data.length || sizes[5]! % 8 !== 0) return undefined;
  const take = (n: number): Uint8Array => {
    // copied into its own buffer: aligned for the typed views, and the file buffer can go
    const out = new Uint8Array(n);
    out.set(data.subarray(at, at + n));
    at += n;
    return out;
  };
  const [luts, encodedExponent, signMantissa, outputPositions, gaps, splits] = sizes.map(take) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  return { luts, encodedExponent, signMantissa, outputPositions, gaps, splitPositions: new BigInt64Array(splits.buffer, 0, splits.length / 8) };
}

/** Writes `unit` to `path` (through a temporary file, so a reader never sees half a file). */
export async function writeCachedUnit(path: string, unit: Df11Unit): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const file = await open(tmp, 'w');
  try {
    await file.write(Buffer.from(MAGIC + JSON.stringify(FIELDS.map((f) => fieldBytes(unit, f).length)) + '\n'));
    for (const f of FIELDS) await file.write(fieldBytes(unit, f));
  } finally {
    await file.close();
  }
  await rename(tmp, path);
}
