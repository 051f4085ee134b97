// Loads the codec's WebAssembly module (assembly/codec/*.ts, compiled and embedded as base64 by
// scripts/build-wasm.mjs) the same way in Node and browsers: from bytes, no file access.
//
// One instance per thread (Node worker threads each load their own). `initCodecWasm()` compiles
// asynchronously (what browsers require on their main thread for modules over 4 KB); `codecWasm()`
// returns the instance, compiling synchronously on first use where the environment allows it (Node,
// workers), so synchronous APIs such as encodeUnit can use WebAssembly without an init call. Where
// neither works, `codecWasm()` returns undefined and callers use the TypeScript kernels.
import { CODEC_WASM_BASE64 } from './codec-wasm.generated.js';

/** Fixed addresses and sizes of the module's memory regions (assembly/codec/layout.ts). */
export const LAYOUT_NAMES = [
  'REGION_BASE', 'DECODE_TILE_CHUNKS', 'DEC_LUTS', 'DEC_OPS', 'DEC_GAPS', 'DEC_GAP_BYTES', 'DEC_STREAM', 'DEC_STREAM_BYTES',
  'DEC_SM', 'DEC_OUT', 'ENCODE_TILE_ELEMENTS', 'ENC_RING_SLOTS', 'ENC_HIST', 'ENC_CODES', 'ENC_PAIRS', 'ENC_LENGTHS',
  'ENC_SRC', 'ENC_WORDS', 'ENC_SM', 'ENC_GAPS_OUT', 'ENC_OPS_OUT', 'MEMORY_BYTES',
] as const;
export type CodecLayout = Record<(typeof LAYOUT_NAMES)[number], number>;

/** The module's exports (see assembly/codec/*.ts for each contract). */
export interface CodecExports extends Record<(typeof LAYOUT_NAMES)[number], WasmGlobal> {
  readonly memory: WasmMemory;
  heapBase(): number;
  buildDecodeTables(rows: number): void;
  reverseStream(shift: number): void;
  decodeTile(rows: number, first: number, chunks: number, lastChunk: number, elements: number, streamBytes: number, smShift: number, outShift: number): number;
  errorChunk(): number;
  errorBit(): number;
  errorValue(): number;
  errorExpected(): number;
  histogram(from: number, n: number): void;
  histogramPairs(n: number): void;
  foldPairHistogram(): void;
  encodeBegin(): void;
  encodeTile(n: number): number;
  pendingBits(): number;
  pendingCount(): number;
  wordsStored(): number;
  elementsEncoded(): number;
  resolveWindows(last: number, eof: number): number;
  positionsResolved(): number;
  windowsResolved(): number;
}

/** The parts of the WebAssembly JS API used here (typed locally: the project's lib has no DOM types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface WasmGlobal {
  readonly value: number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: unknown } }>;
}

/** WebAssembly page size (64 KiB). */
export const WASM_PAGE_BYTES = 65536;

/**
 * A loaded codec module: its exports, its memory layout, and views of its memory (recreated after the
 * memory grows, which detaches the old ArrayBuffer). Per-thread state of the host side (which unit's
 * decode tables are loaded) lives here too.
 */
export class CodecWasm {
  readonly exports: CodecExports;
  readonly layout: CodecLayout;
  /** The `luts` the decode tables were last built from (decode-wasm.ts). */
  decodeLuts: Uint8Array | undefined;
  private viewBuffer: ArrayBuffer | undefined;
  private u8View = new Uint8Array(0);
  private u16View = new Uint16Array(0);
  private u32View = new Uint32Array(0);

  /** @throws Error when the module's static data overlaps its regions (a build problem). */
  constructor(exports: CodecExports) {
    this.exports = exports;
    const layout = {} as CodecLayout;
    for (const name of LAYOUT_NAMES) layout[name] = exports[name].value;
    this.layout = layout;
    if (exports.heapBase() > layout.REGION_BASE) throw new Error(`codec wasm: static data ends at ${exports.heapBase()}, above its regions at ${layout.REGION_BASE}`);
    const have = exports.memory.buffer.byteLength;
    if (layout.MEMORY_BYTES > have) exports.memory.grow(Math.ceil((layout.MEMORY_BYTES - have) / WASM_PAGE_BYTES));
  }

  get u8(): Uint8Array {
    this.refresh();
    return this.u8View;
  }
  get u16(): Uint16Array {
    this.refresh();
    return this.u16View;
  }
  get u32(): Uint32Array {
    this.refresh();
    return this.u32View;
  }

  private refresh(): void {
    const buffer = this.exports.memory.buffer;
    if (buffer === this.viewBuffer) return;
    this.viewBuffer = buffer;
    this.u8View = new Uint8Array(buffer);
    this.u16View = new Uint16Array(buffer);
    this.u32View = new Uint32Array(buffer);
  }
}

let loaded: CodecWasm | null | undefined; // null: WebAssembly is missing or the module failed to load
let loading: Promise<CodecWasm | undefined> | undefined;
/** Synchronous compilation was refused (a browser main thread); initCodecWasm may still succeed. */
let syncRefused = false;

function wasmApi(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

function moduleBytes(): Uint8Array {
  const text = atob(CODEC_WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Compiles and instantiates the module asynchronously (once per thread). Resolves to the instance, or
 * undefined where WebAssembly (with SIMD) is unavailable.
 */
export function initCodecWasm(): Promise<CodecWasm | undefined> {
  if (loaded !== undefined) return Promise.resolve(loaded ?? undefined);
  const api = wasmApi();
  if (!api) {
    loaded = null;
    return Promise.resolve(undefined);
  }
  loading ??= api.instantiate(moduleBytes(), {}).then(
    (r) => {
      loaded ??= new CodecWasm(r.instance.exports as CodecExports);
      return loaded;
    },
    () => {
      loaded ??= null;
      return undefined;
    },
  );
  return loading;
}

/**
 * The codec module of this thread, compiled synchronously on first use if initCodecWasm has not
 * finished; undefined where WebAssembly (with SIMD) is unavailable or synchronous compilation is refused.
 */
export function codecWasm(): CodecWasm | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  if (syncRefused) return undefined;
  const api = wasmApi();
  if (!api) {
    loaded = null;
    return undefined;
  }
  try {
    const instance = new api.Instance(new api.Module(moduleBytes()), {});
    loaded = new CodecWasm(instance.exports as CodecExports);
  } catch {
    syncRefused = true;
  }
  return loaded ?? undefined;
}
