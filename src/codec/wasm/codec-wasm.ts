// Loads the codec's WebAssembly module (assembly/codec/*.ts, compiled and embedded as base64 by
// scripts/build-wasm.mjs) the same way in Node and browsers: from bytes, no file access.
//
// One instance per thread (Node worker threads each load their own). `initCodecWasm()` compiles
// asynchronously (what browsers require on their main thread for modules over 4 KB); `codecWasm()`
// returns the instance, compiling synchronously on first use where the environment allows it (Node,
// workers), so synchronous APIs such as encodeUnit can use WebAssembly without an init call. Where
// neither works, `codecWasm()` returns undefined and callers use the TypeScript kernels.
import { CODEC_WASM_BASE64 } from './codec-wasm.generated.js';

/** The module's exports (see assembly/codec/*.ts for each contract). */
export interface CodecExports {
  readonly memory: WasmMemory;
  heapBase(): number;
  readonly DECODE_TABLE_BYTES: WasmGlobal;
  readonly DECODE_SLOT_BYTES: WasmGlobal;
  readonly HISTOGRAM_BYTES: WasmGlobal;
  readonly CODE_TABLE_BYTES: WasmGlobal;
  buildDecodeTables(luts: number, rows: number, tables: number): void;
  reverseBytes(src: number, dst: number, bytes: number): void;
  decodeTile(
    luts: number, rows: number, tables: number, ops: number, gaps: number, revEnd: number, stage: number, slots: number,
    sm: number, out: number, first: number, chunks: number, lastChunk: number, elements: number, streamBytes: number,
  ): number;
  errorChunk(): number;
  errorBit(): number;
  errorValue(): number;
  errorExpected(): number;
  histogram(src: number, n: number, hist: number): void;
  encodeBegin(): void;
  encodeTile(src: number, n: number, codes: number, out: number, sm: number, ring: number, ringSlots: number): number;
  pendingBits(): number;
  pendingCount(): number;
  wordsStored(): number;
  elementsEncoded(): number;
  resolveWindows(ring: number, ringSlots: number, lengths: number, gaps: number, ops: number, last: number, eof: number): bigint;
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
/** Most bytes a wasm32 memory can hold: 65536 pages (4 GiB; Node's limit). */
export const WASM_MAX_BYTES = 65536 * WASM_PAGE_BYTES;

/**
 * A loaded codec module: its exports and helpers for the host's regions of its linear memory.
 * Views of the memory are recreated after it grows (growing detaches the old ArrayBuffer).
 */
export class CodecWasm {
  readonly exports: CodecExports;
  /** First free byte for the host's regions (64-byte aligned). */
  readonly heapBase: number;
  private viewBuffer: ArrayBuffer | undefined;
  private u8View = new Uint8Array(0);
  private u16View = new Uint16Array(0);
  private u32View = new Uint32Array(0);
  /** Region layouts keyed by their user (decode / encode), computed once per instance. */
  readonly layouts = new Map<string, unknown>();

  constructor(exports: CodecExports) {
    this.exports = exports;
    this.heapBase = alignUp(exports.heapBase(), 64);
  }

  /** Grows the memory to at least `bytes` bytes. @throws RangeError beyond 4 GiB. */
  ensureBytes(bytes: number): void {
    if (bytes > WASM_MAX_BYTES) throw new RangeError(`codec wasm: ${bytes} bytes exceed the 4 GiB of a wasm32 memory`);
    const have = this.exports.memory.buffer.byteLength;
    if (bytes > have) this.exports.memory.grow(Math.ceil((bytes - have) / WASM_PAGE_BYTES));
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

export function alignUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
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
