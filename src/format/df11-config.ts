/**
 * The `dfloat11_config` entry of a DF11 model's `config.json` (df11-format.md §2.3, §2.5, §10 #1):
 * parsing with validation, the legacy 0.1.0 check, and re-serialisation that keeps every order.
 *
 * The `pattern_dict` is held as an ordered list of `{ pattern, attrs }`: key order fixes the unit
 * enumeration order and attr order fixes every compressed byte, so both are preserved exactly.
 * `df11ConfigToJson(parseDf11Config(x))` serialises (JSON.stringify) to the same text as `x`.
 */
import { Df11Error } from '../errors.js';
import { compileFullmatch } from './df11-regex.js';

/** The version string this implementation writes (the reference compressor's current version). */
export const DF11_WRITE_VERSION = '0.5.0';
/** Windows per chunk: the only value of `threads_per_block[0]` supported (§1, §13). */
export const DF11_THREADS_PER_BLOCK = 512;
/** Bytes per window: the only value of `bytes_per_thread` supported (§1, §13). */
export const DF11_BYTES_PER_THREAD = 8;
/** Top-level key of the legacy 0.1.0 pickle format (§2.5). */
export const LEGACY_VERSION_KEY = 'dfloat11_version';
export const DF11_CONFIG_KEY = 'dfloat11_config';

/** One `pattern_dict` entry: a Python regex over module paths and its ordered attr list. */
export interface PatternEntry {
  pattern: string;
  /** Sub-module paths whose `.weight` tensors are concatenated in this order; `[]` = the module itself. */
  attrs: string[];
}

/** A `pattern_dict` in key order. */
export type PatternDict = PatternEntry[];

export interface Df11Config {
  /** Informational (`"0.2.0"` … `"0.5.0"`); any string is accepted; undefined when absent. */
  version: string | undefined;
  threadsPerBlock: number[];
  bytesPerThread: number;
  patternDict: PatternDict;
  /**
   * The object as read, kept for re-serialisation in its own key order with unknown keys intact.
   * Undefined for configs built by `makeDf11Config`.
   */
  raw?: Readonly<Record<string, unknown>>;
}

/** A pattern entry with its compiled full-match RegExp. */
export interface CompiledPattern extends PatternEntry {
  regex: RegExp;
}

const ARRAY_INDEX_KEY = /^(0|[1-9][0-9]*)$/;
const MAX_ARRAY_INDEX = 2 ** 32 - 2;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A fresh config for writing, in the reference's key order. */
export function makeDf11Config(patternDict: PatternDict, version: string = DF11_WRITE_VERSION): Df11Config {
  return {
    version,
    threadsPerBlock: [DF11_THREADS_PER_BLOCK],
    bytesPerThread: DF11_BYTES_PER_THREAD,
    patternDict: patternDict.map((e) => ({ pattern: e.pattern, attrs: [...e.attrs] })),
  };
}

/**
 * Throws `legacy-format` if a parsed `config.json` is the legacy 0.1.0 pickle format (top-level
 * `dfloat11_version`). Such models are never unpickled: loading a pickle runs arbitrary code.
 */
export function rejectLegacyConfig(config: unknown, file?: string): void {
  if (isPlainObject(config) && Object.hasOwn(config, LEGACY_VERSION_KEY)) {
    const v = config[LEGACY_VERSION_KEY];
    throw new Df11Error(
      'legacy-format',
      `this is a legacy DFloat11 ${typeof v === 'string' ? v : '0.1.x'} model (Python pickles, "${LEGACY_VERSION_KEY}" key); ` +
        'that format is not supported and its pickle files will never be unpickled (unpickling runs arbitrary code). ' +
        'Use a DF11 model of version 0.2.0 or later (safetensors with "dfloat11_config")',
      { file },
    );
  }
}

/** Validates and compiles a pattern dict given as a JSON object (key order = insertion order). */
export function parsePatternDict(value: unknown, file?: string): PatternDict {
  if (!isPlainObject(value)) throw new Df11Error('config-invalid', 'pattern_dict must be a JSON object', { file });
  const dict: PatternDict = [];
  for (const [pattern, attrs] of Object.entries(value)) {
    // JS objects list array-index keys first, so their original order cannot be known.
    if (ARRAY_INDEX_KEY.test(pattern) && Number(pattern) <= MAX_ARRAY_INDEX) {
      throw new Df11Error('config-invalid', `pattern_dict key ${JSON.stringify(pattern)} is an integer; its position cannot be preserved`, { file });
    }
    if (pattern === '') throw new Df11Error('config-invalid', 'pattern_dict has an empty key', { file });
    if (!Array.isArray(attrs) || !attrs.every((a): a is string => typeof a === 'string')) {
      throw new Df11Error('config-invalid', `pattern_dict[${JSON.stringify(pattern)}] must be a list of strings`, { file });
    }
    const seen = new Set<string>();
    for (const a of attrs) {
      if (a === '' || a.split('.').some((s) => s === '')) {
        throw new Df11Error('config-invalid', `pattern_dict[${JSON.stringify(pattern)}] has a malformed attr ${JSON.stringify(a)}`, { file });
      }
      if (seen.has(a)) throw new Df11Error('config-invalid', `pattern_dict[${JSON.stringify(pattern)}] lists attr ${JSON.stringify(a)} twice`, { file });
      seen.add(a);
    }
    dict.push({ pattern, attrs: [...attrs] });
  }
  compilePatternDict(dict, file); // reject uncompilable patterns up front
  return dict;
}

/**
 * Parses a `dfloat11_config` object. Throws `unsupported-geometry` unless `threads_per_block[0]`
 * is 512 and `bytes_per_thread` is 8, and `config-invalid` for any other malformed field.
 */
export function parseDf11Config(value: unknown, file?: string): Df11Config {
  if (!isPlainObject(value)) throw new Df11Error('config-invalid', `${DF11_CONFIG_KEY} must be a JSON object`, { file });
  const version = value['version'];
  if (version !== undefined && typeof version !== 'string') {
    throw new Df11Error('config-invalid', `${DF11_CONFIG_KEY}.version must be a string`, { file });
  }
  const tpb = value['threads_per_block'];
  if (!Array.isArray(tpb) || tpb.length < 1 || !tpb.every((t) => Number.isSafeInteger(t) && t > 0)) {
    throw new Df11Error('config-invalid', 'threads_per_block must be a non-empty list of positive integers', { file });
  }
  const bpt = value['bytes_per_thread'];
  if (!Number.isSafeInteger(bpt) || (bpt as number) <= 0) {
    throw new Df11Error('config-invalid', 'bytes_per_thread must be a positive integer', { file });
  }
  if (tpb[0] !== DF11_THREADS_PER_BLOCK || bpt !== DF11_BYTES_PER_THREAD) {
    throw new Df11Error(
      'unsupported-geometry',
      `threads_per_block [${tpb.join(', ')}] and bytes_per_thread ${String(bpt)} are not supported; ` +
        `only [${DF11_THREADS_PER_BLOCK}] and ${DF11_BYTES_PER_THREAD} (the reference kernel's geometry)`,
      { file },
    );
  }
  if (!Object.hasOwn(value, 'pattern_dict')) throw new Df11Error('config-invalid', `${DF11_CONFIG_KEY} has no pattern_dict`, { file });
  return {
    version,
    threadsPerBlock: [...(tpb as number[])],
    bytesPerThread: bpt as number,
    patternDict: parsePatternDict(value['pattern_dict'], file),
    raw: { ...value },
  };
}

/**
 * The `dfloat11_config` of a whole parsed `config.json`. Throws `legacy-format` for the 0.1.0
 * format and `config-invalid` if the key is missing.
 */
export function df11ConfigFromModelConfig(config: unknown, file?: string): Df11Config {
  rejectLegacyConfig(config, file);
  if (!isPlainObject(config) || !Object.hasOwn(config, DF11_CONFIG_KEY)) {
    throw new Df11Error('config-invalid', `no "${DF11_CONFIG_KEY}" in the config: not a DF11 model`, { file });
  }
  return parseDf11Config(config[DF11_CONFIG_KEY], file);
}

/** A pattern dict as a JSON object in key order, attrs in order. */
export function patternDictToJson(dict: PatternDict): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const { pattern, attrs } of dict) out[pattern] = [...attrs];
  return out;
}

/**
 * The `dfloat11_config` JSON object. A parsed config keeps its own key order and unknown keys; a
 * fresh one uses the reference order (version, threads_per_block, bytes_per_thread, pattern_dict).
 */
export function df11ConfigToJson(cfg: Df11Config): Record<string, unknown> {
  const known: Record<string, unknown> = {
    version: cfg.version,
    threads_per_block: [...cfg.threadsPerBlock],
    bytes_per_thread: cfg.bytesPerThread,
    pattern_dict: patternDictToJson(cfg.patternDict),
  };
  const out: Record<string, unknown> = {};
  const keys = cfg.raw ? Object.keys(cfg.raw) : Object.keys(known);
  for (const k of keys) {
    if (Object.hasOwn(known, k)) {
      if (known[k] !== undefined) out[k] = known[k];
    } else out[k] = cfg.raw![k];
  }
  for (const k of Object.keys(known)) if (!Object.hasOwn(out, k) && known[k] !== undefined) out[k] = known[k];
  return out;
}

/**
 * A model config with `dfloat11_config` set: the original keys in order, `dfloat11_config`
 * replaced in place or appended. With no original config the result is `{"dfloat11_config": …}`
 * (§2.2).
 */
export function withDf11Config(modelConfig: Readonly<Record<string, unknown>> | null | undefined, cfg: Df11Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const df11 = df11ConfigToJson(cfg);
  for (const [k, v] of Object.entries(modelConfig ?? {})) out[k] = k === DF11_CONFIG_KEY ? df11 : v;
  out[DF11_CONFIG_KEY] = df11;
  return out;
}

/** Compiles every key (Python fullmatch semantics); throws `config-invalid` naming a bad pattern. */
export function compilePatternDict(dict: PatternDict, file?: string): CompiledPattern[] {
  return dict.map((e) => {
    try {
      return { pattern: e.pattern, attrs: e.attrs, regex: compileFullmatch(e.pattern) };
    } catch (err) {
      throw err instanceof Df11Error ? err.withContext({ file }) : err;
    }
  });
}

/** The first entry (in key order) whose pattern fully matches `modulePath` (planning rejects paths that match several). */
export function matchPattern(compiled: readonly CompiledPattern[], modulePath: string): CompiledPattern | undefined {
  return compiled.find((c) => c.regex.test(modulePath));
}
