/**
 * Opening a DF11 model, directory or single file (df11-format.md §2, §9, §10).
 *
 * Reading rule (reference semantics, §2.1): every `*.safetensors` file of the directory is read
 * (`*.index.json` ignored) and each tensor is dispatched by NAME only; file names, file order and
 * tensor order mean nothing. A module is a unit iff a tensor `<path>.encoded_exponent` exists; its
 * other five fields are `<path>.<field>`; the remaining tensors under `<path>.` are the module's
 * extra tensors (norms, biases). A tensor under several unit paths belongs to the longest one.
 *
 * On open, every unit is checked against §10 invariants 1–5 and 8 (config and geometry, dtypes,
 * ranks, sizes, `output_positions` contents, `split_positions` contents and count against the
 * pattern's attrs); the checks that need decoding (6, 7, 9, 10) are the codec's. Errors are
 * Df11Error naming the file and the tensor.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Df11Error } from '../errors.js';
import { SafetensorsModel } from './safetensors-model.js';
import type { TensorEntry } from './safetensors-header.js';
import { ioError } from './file-io.js';
import { compilePatternDict, df11ConfigFromModelConfig, DF11_CONFIG_KEY, matchPattern, rejectLegacyConfig, type Df11Config } from './df11-config.js';
import {
  bytesToBigInt64,
  checkOutputPositions,
  checkSplitPositions,
  checkUnitShapes,
  DF11_FIELDS,
  UNIT_MARKER_FIELD,
  type Df11FieldName,
  type Df11UnitTensors,
  type UnitGeometry,
} from './df11-unit-tensors.js';
import { checksumMetadataKey, DF11_CONFIG_FILE } from './df11-layout.js';
import { compareModulePaths } from './df11-units.js';
import { FLUX_COMFYUI_PATTERN_DICT } from './pattern-dicts.js';
import { makeDf11Config } from './df11-config.js';

/** config.json larger than this is rejected (real ones are a few KiB). */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
const PICKLE_EXT = '.pkl';

/** A tensor's header entry plus the file that holds it. */
export type Df11TensorRef = TensorEntry & { file: string };

export interface Df11UnitRef {
  /** Module path, e.g. `model.layers.0`. */
  path: string;
  /** The pattern_dict key that matches the path (first in key order). */
  pattern: string;
  /** The attrs whose weights the unit holds, in order; `[]` = the module's own `.weight`. */
  attrs: string[];
  /** The six DF11 tensors, by on-disk field name. */
  fields: Record<Df11FieldName, Df11TensorRef>;
  /** The module's other tensors (uncompressed), in model name order. */
  extraTensors: string[];
  /** N, B, K, luts rows, op entries, pieces. */
  geometry: UnitGeometry;
  /** split_positions as numbers (validated: strictly increasing within (0, N)). */
  splitPositions: number[];
  /** Hex SHA-256 of the decoded BF16 bytes from `__metadata__`, if the writer stored one. */
  sha256: string | undefined;
}

/** Where the pattern dict came from. */
export type Df11ConfigSource = 'config.json' | 'options' | 'published flux-comfyui';

export interface Df11Model {
  /** The directory or file opened. */
  path: string;
  /** The whole parsed config.json, or null when there is none. */
  config: Record<string, unknown> | null;
  df11Config: Df11Config;
  configSource: Df11ConfigSource;
  /** Units in pattern_dict key order, then natural path order within a pattern. */
  units: Df11UnitRef[];
  /** Names of every tensor outside all units, in model name order. */
  others: string[];
  /** The underlying safetensors files (read access to any tensor by name). */
  safetensors: SafetensorsModel;
  unit(path: string): Df11UnitRef;
  /** The six tensors of a unit, re-validated (invariants 2–5, 8). */
  readUnit(path: string): Promise<Df11UnitTensors>;
  /** Bytes of any tensor by name. */
  readTensor(name: string): Promise<Uint8Array>;
  entry(name: string): Df11TensorRef;
  close(): Promise<void>;
}

export interface OpenDf11Options {
  /** Use this dfloat11_config instead of config.json's (needed for ComfyUI-native files without config). */
  df11Config?: Df11Config;
}

async function readConfigJson(file: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    const st = await stat(file);
    if (!st.isFile()) return null;
    if (st.size > MAX_CONFIG_BYTES) throw new Df11Error('config-invalid', `config.json of ${st.size} bytes exceeds ${MAX_CONFIG_BYTES}`, { file });
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if (cause instanceof Df11Error) throw cause;
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('cannot read', cause, { file });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new Df11Error('config-invalid', `config.json is not valid JSON: ${(cause as Error).message}`, { file, cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Df11Error('config-invalid', 'config.json is not a JSON object', { file });
  return value as Record<string, unknown>;
}

async function hasPickles(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some((n) => n.endsWith(PICKLE_EXT));
  } catch (cause) {
    throw ioError('cannot list directory', cause, { file: dir });
  }
}

function legacyPickleError(dir: string): Df11Error {
  return new Df11Error(
    'legacy-format',
    'the directory holds *.pkl files and no dfloat11_config: this looks like the legacy DFloat11 0.1.0 pickle format, ' +
      'which is not supported; its pickles will never be unpickled (unpickling runs arbitrary code)',
    { file: dir },
  );
}

/**
 * Opens a DF11 model directory (§2.1) or single file (§2.2; its `config.json`, if any, is read from
 * the same directory). Throws `legacy-format` for 0.1.0 models (never unpickled), `config-invalid` /
 * `unsupported-geometry` for a bad or missing `dfloat11_config`, `unit-invalid` for a unit breaking
 * §10 invariants 2–5 or 8 or matching no pattern, plus the safetensors errors (`duplicate-tensor`
 * for a name in two files, `io`, header errors).
 */
export async function openDf11Model(pathOrDir: string, options: OpenDf11Options = {}): Promise<Df11Model> {
  let isDir: boolean;
  try {
    isDir = (await stat(pathOrDir)).isDirectory();
  } catch (cause) {
    throw ioError('cannot stat', cause, { file: pathOrDir });
  }
  const dir = isDir ? pathOrDir : dirname(pathOrDir);
  const configFile = join(dir, DF11_CONFIG_FILE);
  const config = await readConfigJson(configFile);
  rejectLegacyConfig(config, configFile);
  const hasDf11Key = config !== null && Object.hasOwn(config, DF11_CONFIG_KEY);
  if (isDir && !hasDf11Key && options.df11Config === undefined && (await hasPickles(dir))) throw legacyPickleError(dir);

  const st = await SafetensorsModel.open(pathOrDir, { ignoreIndex: true });
  try {
    let df11Config: Df11Config | undefined = options.df11Config;
    let configSource: Df11ConfigSource = 'options';
    if (df11Config === undefined && hasDf11Key) {
      df11Config = df11ConfigFromModelConfig(config, configFile);
      configSource = 'config.json';
    }
    const unitPaths = findUnitPaths(st.names());
    if (df11Config === undefined) {
      const comfy = compilePatternDict(FLUX_COMFYUI_PATTERN_DICT);
      if (unitPaths.length > 0 && unitPaths.every((p) => matchPattern(comfy, p) !== undefined)) {
        df11Config = makeDf11Config(FLUX_COMFYUI_PATTERN_DICT);
        configSource = 'published flux-comfyui';
      } else {
        throw new Df11Error('config-invalid', `no "${DF11_CONFIG_KEY}" in ${configFile} (or no config.json): not a DF11 model, or pass the pattern dict explicitly`, { file: pathOrDir });
      }
    }
    const { units, others } = await buildUnits(st, unitPaths, df11Config);
    return makeModel(pathOrDir, config, df11Config, configSource, units, others, st);
  } catch (e) {
    await st.close().catch(() => undefined);
    throw e;
  }
}

/** Paths of all units: modules with an `encoded_exponent` tensor. */
function findUnitPaths(names: readonly string[]): string[] {
  const suffix = '.' + UNIT_MARKER_FIELD;
  return names.filter((n) => n.endsWith(suffix) && n.length > suffix.length).map((n) => n.slice(0, -suffix.length));
}

async function buildUnits(st: SafetensorsModel, unitPaths: string[], df11Config: Df11Config): Promise<{ units: Df11UnitRef[]; others: string[] }> {
  const compiled = compilePatternDict(df11Config.patternDict);
  const unitSet = new Set(unitPaths);
  const extras = new Map<string, string[]>(unitPaths.map((p) => [p, []]));
  const fieldNames = new Set<string>();
  for (const p of unitPaths) for (const f of DF11_FIELDS) fieldNames.add(`${p}.${f.name}`);
  const others: string[] = [];
  for (const name of st.names()) {
    if (fieldNames.has(name)) continue;
    let owner: string | undefined;
    for (let i = name.lastIndexOf('.'); i > 0 && owner === undefined; i = name.lastIndexOf('.', i - 1)) {
      const prefix = name.slice(0, i);
      if (unitSet.has(prefix)) owner = prefix;
    }
    if (owner === undefined) others.push(name);
    else extras.get(owner)!.push(name);
  }

  const order = new Map<string, number>();
  const units: Df11UnitRef[] = [];
  for (const path of unitPaths) {
    const marker = st.entry(`${path}.${UNIT_MARKER_FIELD}`);
    const c = matchPattern(compiled, path);
    if (c === undefined) {
      throw new Df11Error('unit-invalid', `DF11 unit ${path} matches no pattern_dict key, so its weights cannot be placed`, { file: marker.file, tensor: marker.name });
    }
    order.set(path, compiled.indexOf(c));
    const fields = {} as Record<Df11FieldName, Df11TensorRef>;
    for (const f of DF11_FIELDS) {
      const name = `${path}.${f.name}`;
      if (!st.has(name)) throw new Df11Error('unit-invalid', `DF11 unit ${path} has no ${f.name} tensor`, { file: marker.file, tensor: name });
      fields[f.name] = st.entry(name);
    }
    const shapes = Object.fromEntries(DF11_FIELDS.map((f) => [f.name, fields[f.name].shape])) as Record<Df11FieldName, number[]>;
    const dtypes = Object.fromEntries(DF11_FIELDS.map((f) => [f.name, fields[f.name].dtype])) as Record<Df11FieldName, TensorEntry['dtype']>;
    const fileOf = (f: Df11FieldName) => ({ path, file: fields[f].file });
    let geometry: UnitGeometry;
    try {
      geometry = checkUnitShapes(shapes, { path }, dtypes);
    } catch (e) {
      // name the file of the offending tensor
      if (e instanceof Df11Error && e.tensor !== undefined) {
        const field = e.tensor.slice(path.length + 1) as Df11FieldName;
        throw e.withContext({ file: fields[field]?.file });
      }
      throw e;
    }
    const pieces = Math.max(c.attrs.length, 1);
    if (geometry.pieces !== pieces) {
      throw new Df11Error(
        'unit-invalid',
        `DF11 unit ${path} has ${geometry.pieces} pieces (split_positions of ${geometry.pieces - 1}) but pattern ${JSON.stringify(c.pattern)} lists ${pieces}`,
        { file: fields.split_positions.file, tensor: fields.split_positions.name },
      );
    }
    checkOutputPositions(await st.read(fields.output_positions.name), geometry, fileOf('output_positions'));
    const splitPositions = checkSplitPositions(bytesToBigInt64(await st.read(fields.split_positions.name)), geometry, fileOf('split_positions'));
    const meta = st.reader(marker.name).header.metadata;
    units.push({
      path,
      pattern: c.pattern,
      attrs: [...c.attrs],
      fields,
      extraTensors: extras.get(path)!,
      geometry,
      splitPositions,
      sha256: meta?.[checksumMetadataKey(path)],
    });
  }
  units.sort((a, b) => order.get(a.path)! - order.get(b.path)! || compareModulePaths(a.path, b.path));
  return { units, others };
}

function makeModel(
  path: string,
  config: Record<string, unknown> | null,
  df11Config: Df11Config,
  configSource: Df11ConfigSource,
  units: Df11UnitRef[],
  others: string[],
  st: SafetensorsModel,
): Df11Model {
  const byPath = new Map(units.map((u) => [u.path, u]));
  const unit = (p: string): Df11UnitRef => {
    const u = byPath.get(p);
    if (u === undefined) throw new Df11Error('tensor-not-found', `no DF11 unit ${p}`, { file: path });
    return u;
  };
  return {
    path,
    config,
    df11Config,
    configSource,
    units,
    others,
    safetensors: st,
    unit,
    async readUnit(p: string): Promise<Df11UnitTensors> {
      const u = unit(p);
      const [luts, encodedExponent, signMantissa, outputPositions, gaps, split] = await Promise.all(DF11_FIELDS.map((f) => st.read(u.fields[f.name].name)));
      checkOutputPositions(outputPositions!, u.geometry, { path: p, file: u.fields.output_positions.file });
      const splitPositions = bytesToBigInt64(split!);
      checkSplitPositions(splitPositions, u.geometry, { path: p, file: u.fields.split_positions.file });
      return { luts: luts!, encodedExponent: encodedExponent!, signMantissa: signMantissa!, outputPositions: outputPositions!, gaps: gaps!, splitPositions };
    },
    readTensor: (name: string) => st.read(name),
    entry: (name: string) => st.entry(name),
    close: () => st.close(),
  };
}
