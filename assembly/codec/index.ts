// Entry point of the df11 codec WebAssembly module: the decoder and encoder kernels.
// Build: node scripts/build-wasm.mjs (writes src/codec/wasm/codec-wasm.generated.ts).
export * from './decode';
export * from './encode';

/** First byte of memory free for the host's regions (after the module's static data). */
export function heapBase(): usize {
  return __heap_base;
}
