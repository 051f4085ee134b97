/**
 * What the engine reads a model from: a loader object, so that src/runtime needs no file system.
 * Node code opens files (src/runtime/node/open-model.ts); a browser can serve the same interface from
 * fetch() or the Origin Private File System. `SafetensorsModel` and `Df11Model` satisfy these
 * interfaces as they are.
 */
import type { Df11Unit } from '../codec/unit.js';
import type { Dtype } from '../format/dtype.js';

/** Read access to named tensors. */
export interface TensorSource {
  has(name: string): boolean;
  entry(name: string): { dtype: Dtype; shape: readonly number[] };
  /** The tensor's bytes (little-endian, as stored). */
  read(name: string): Promise<Uint8Array>;
}

/** A DF11 unit as the format layer describes it (a Df11UnitRef has these fields). */
export interface Df11UnitInfo {
  /** Module path, e.g. `model.layers.0`. */
  path: string;
  /** Attrs whose weights the unit holds, in order; `[]`: the module's own weight. */
  attrs: readonly string[];
  geometry: { n: number };
  splitPositions: readonly number[];
}

export interface Bf16ModelFiles {
  kind: 'bf16';
  /** Parsed config.json. */
  config: Readonly<Record<string, unknown>>;
  /** Names the model in messages (its directory). */
  name: string;
  tensors: TensorSource;
}

export interface Df11ModelFiles {
  kind: 'df11';
  config: Readonly<Record<string, unknown>>;
  name: string;
  /** Every tensor of the DF11 model (unit fields, extras such as norms, the remainder). */
  tensors: TensorSource;
  units: readonly Df11UnitInfo[];
  /** The six tensors of a unit. */
  readUnit(path: string): Promise<Df11Unit>;
}

export type ModelFiles = Bf16ModelFiles | Df11ModelFiles;
