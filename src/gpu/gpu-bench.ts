// Helpers of the GPU benchmarks (`df11 bench decode`, bench/, dev/kernels/): a plain WGSL copy as the
// bandwidth baseline, and timing of recorded compute passes.
import { copyWgsl } from './kernels/wgsl.generated.js';

const STORAGE = 0x80;
/** Workgroups of the grid-stride copy: enough to fill any current GPU. */
const COPY_WORKGROUPS = 8192;

/**
 * A copy of the first `bytes` (multiple of 16) of `src` (real data, e.g. a decoded unit: never time
 * zeros) into a fresh buffer, in windows of at most the binding limit.
 */
export function createCopy(device: GPUDevice, src: GPUBuffer, bytes: number): { record(pass: GPUComputePassEncoder): void; destroy(): void } {
  const module = device.createShaderModule({ label: 'df11-copy', code: copyWgsl });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const dst = device.createBuffer({ size: bytes, usage: STORAGE });
  const window = Math.floor(Math.min(device.limits.maxStorageBufferBindingSize, bytes) / 256) * 256;
  const groups: GPUBindGroup[] = [];
  for (let off = 0; off < bytes; off += window) {
    const size = Math.min(window, bytes - off);
    groups.push(
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: src, offset: off, size } },
          { binding: 1, resource: { buffer: dst, offset: off, size } },
        ],
      }),
    );
  }
  return {
    record(pass) {
      pass.setPipeline(pipeline);
      for (const g of groups) {
        pass.setBindGroup(0, g);
        pass.dispatchWorkgroups(COPY_WORKGROUPS);
      }
    },
    destroy() {
      dst.destroy();
    },
  };
}

// GPU timing for the benchmarks: timestamp queries around one compute pass holding `iterations`
// repetitions of the work when the device has 'timestamp-query', else wall-clock around submit +
// onSubmittedWorkDone. Reports the median of several repeats after a warm-up, and the host CPU time
// the process spent meanwhile (a process that spins while waiting for the GPU shows ~100%).
// `iterations` is a minimum: a pass shorter than MIN_PASS_MS is repeated more often, because timestamps
// are quantized (Dawn rounds them to ~65 us unless told otherwise) and a tiny unit on a fast GPU would
// otherwise time as 0 ms.
const QUERY_RESOLVE = 0x200;
/** Minimum wall time of warm-up work before the timed repeats. */
const WARM_UP_MS = 600;
/** Minimum GPU time of one timed pass. */
const MIN_PASS_MS = 2;
/** Most repetitions of the work in one pass. */
const MAX_ITERATIONS = 100_000;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const MAP_READ = 0x1;

/** CPU time of this process in microseconds (Node); NaN where the runtime does not tell (browsers). */
function processCpuMicros(): number {
  const p = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process;
  const u = p?.cpuUsage?.();
  return u ? u.user + u.system : Number.NaN;
}

export interface Timing {
  /** Median milliseconds per iteration. */
  ms: number;
  /** Spread: min and max of the repeats (ms per iteration). */
  minMs: number;
  maxMs: number;
  /** Every repeat (ms per iteration), in the order they ran. */
  samples: number[];
  method: 'timestamp' | 'wall-clock';
  /** Host CPU time / wall time of the process during the timed repeats (1 = one core busy; NaN in browsers). */
  hostCpu: number;
  /** Repetitions of the work per timed pass (at least the `iterations` asked for). */
  iterations: number;
}

export async function timePasses(
  device: GPUDevice,
  record: (pass: GPUComputePassEncoder) => void,
  iterations: number,
  repeats = 5,
): Promise<Timing> {
  const timestamps = device.features.has('timestamp-query');
  const querySet = timestamps ? device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
  const resolve = device.createBuffer({ size: 16, usage: QUERY_RESOLVE | COPY_SRC });
  const readback = device.createBuffer({ size: 16, usage: MAP_READ | COPY_DST });
  let perPass = iterations;
  const once = async (): Promise<number> => {
    const n = perPass;
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass(querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
    for (let i = 0; i < n; i++) record(pass);
    pass.end();
    if (querySet) {
      encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16);
    }
    const t0 = performance.now();
    device.queue.submit([encoder.finish()]);
    if (!querySet) {
      await device.queue.onSubmittedWorkDone();
      return (performance.now() - t0) / n;
    }
    await readback.mapAsync(MAP_READ);
    const ns = new BigUint64Array(readback.getMappedRange().slice(0));
    readback.unmap();
    return Number(ns[1]! - ns[0]!) / 1e6 / n;
  };
  try {
    // Warm-up: pipeline creation and first-use costs, and the GPU's clocks. On an H200 the first
    // ~0.3 s of work after idle ran up to 5x slower, so repeat the work for at least WARM_UP_MS.
    const warm0 = performance.now();
    for (let r = 0; r < 2 || performance.now() - warm0 < WARM_UP_MS; r++) {
      const ms = await once();
      if (ms * perPass < MIN_PASS_MS) perPass = Math.min(MAX_ITERATIONS, Math.max(perPass, ms > 0 ? Math.ceil(MIN_PASS_MS / ms) : perPass * 10));
    }
    const cpu0 = processCpuMicros();
    const wall0 = performance.now();
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) times.push(await once());
    const cpuMicros = processCpuMicros() - cpu0;
    const wall = performance.now() - wall0;
    const sorted = [...times].sort((a, b) => a - b);
    return {
      ms: sorted[Math.floor(sorted.length / 2)]!,
      minMs: sorted[0]!,
      maxMs: sorted[sorted.length - 1]!,
      samples: times,
      method: querySet ? 'timestamp' : 'wall-clock',
      hostCpu: cpuMicros / 1000 / wall,
      iterations: perPass,
    };
  } finally {
    querySet?.destroy();
    resolve.destroy();
    readback.destroy();
  }
}
