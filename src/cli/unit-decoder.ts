// The CPU decoder the CLI uses for decompress and verify: validates a unit's structure (§10 items
// 2-8), then decodes it with the chunk-parallel decoder on a pool of worker threads, which also
// checks item 9 (per-chunk counts, window gaps, stream length). Errors name the file and unit.
import { DecodePool } from '../codec/decode-parallel.js';
import type { Df11Unit } from '../codec/unit.js';
import { validateUnit } from '../codec/validate-unit.js';
import { Df11Error } from '../errors.js';

export interface UnitDecoder {
  /** Validates and decodes one unit; throws Df11Error naming `file` and the unit `path`. */
  decode(unit: Df11Unit, path: string, file: string): Promise<Uint16Array>;
  close(): Promise<void>;
}

/** A decoder splitting each unit's chunks over `threads` worker threads. */
export function createUnitDecoder(threads: number): UnitDecoder {
  const pool = new DecodePool({ threads });
  return {
    async decode(unit, path, file) {
      const context = { file, tensor: path };
      try {
        validateUnit(unit, context);
        return await pool.decode(unit, context);
      } catch (e) {
        throw e instanceof Df11Error ? e.withContext(context) : e;
      }
    },
    close: () => pool.close(),
  };
}
