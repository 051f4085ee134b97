// Entry point of the df11 codec WebAssembly module: the decoder and encoder kernels and their fixed
// memory layout. Build: node scripts/build-wasm.mjs (writes src/codec/wasm/codec-wasm.generated.ts).
export * from './layout';
export * from './decode';
export * from './encode';

/** First byte after the module's static data (the host checks it is below REGION_BASE). */
export function heapBase(): usize {
  return __heap_base;
}
