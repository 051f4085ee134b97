// The CPU decoder the CLI uses for decompress and verify: validates a unit's structure (§10 items
// 2-8) and decodes it with the chunk-parallel decoder, which also checks item 9 (per-chunk counts,
// window gaps, stream length), naming the file and unit in every error.
import { decodeChunked } from '../codec/decode-chunked.js';
import type { Df11Unit } from '../codec/unit.js';
import { validateUnit } from '../codec/validate-unit.js';
import { Df11Error } from '../errors.js';

export interface UnitDecoder {
  /** Validates and decodes one unit; throws Df11Error naming `file` and the unit `path`. */
  decode(unit: Df11Unit, path: string, file: string): Promise<Uint16Array>;
  close(): Promise<void>;
}

/** A decoder using up to `threads` threads. */
export function createUnitDecoder(threads: number): UnitDecoder {
  void threads;
  return {
    async decode(unit, path, file) {
      try {
        validateUnit(unit, { file, tensor: path });
        return decodeChunked(unit);
      } catch (e) {
        throw e instanceof Df11Error ? e.withContext({ file, tensor: path }) : e;
      }
    },
    async close() {},
  };
}
