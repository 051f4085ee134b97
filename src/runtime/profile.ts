/**
 * Per-dispatch GPU timing of a forward pass. A ProfilingRecorder records the same commands as the
 * engine's Recorder, except that every dispatch gets a compute pass of its own with timestamp
 * writes at its beginning and end. The pass boundaries change what runs between dispatches (a pass
 * ends with a full barrier), so the sum of the dispatch times is what the kernels cost, and the
 * difference to an ordinary forward pass is what dispatching them costs.
 */
import type { CommandRecorder } from './weights/weight-provider.js';

/** One timed dispatch. */
export interface DispatchTiming {
  /** The pipeline's label (rt-matvec, df11-decode, ...). */
  kernel: string;
  grid: [number, number, number];
  /** GPU nanoseconds between the pass's beginning and end timestamps. */
  ns: number;
}

const QUERY_BYTES = 8;
/** Timestamp pairs per query set (a query set holds at most 4096 queries). */
const PAIRS_PER_SET = 2048;
const MAP_MODE_READ = 0x1;
const QUERY_RESOLVE = 0x0200;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const MAP_READ = 0x0001;

/** Stands in for a compute pass: holds the pipeline and bind groups until a dispatch is timed. */
class TimedPass {
  pipeline: GPUComputePipeline | undefined;
  readonly groups: (GPUBindGroup | null)[] = [];

  constructor(private readonly owner: ProfilingRecorder) {}

  setPipeline(pipeline: GPUComputePipeline): void {
    this.pipeline = pipeline;
  }

  setBindGroup(index: number, group: GPUBindGroup | null): void {
    this.groups[index] = group;
  }

  dispatchWorkgroups(x: number, y = 1, z = 1): void {
    if (this.pipeline === undefined) throw new Error('dispatch without a pipeline');
    this.owner.timedDispatch(this.pipeline, this.groups, [x, y, z]);
  }

  dispatchWorkgroupsIndirect(buffer: GPUBuffer, offset: number): void {
    if (this.pipeline === undefined) throw new Error('dispatch without a pipeline');
    this.owner.timedDispatch(this.pipeline, this.groups, { buffer, offset });
  }

  end(): void {}
}

export class ProfilingRecorder implements CommandRecorder {
  private encoder: GPUCommandEncoder | undefined;
  private readonly stand = new TimedPass(this);
  private readonly sets: GPUQuerySet[] = [];
  private readonly labels: { kernel: string; grid: [number, number, number] }[] = [];

  constructor(readonly device: GPUDevice) {
    if (!device.features.has('timestamp-query')) throw new Error('profiling needs the timestamp-query feature, which this device lacks');
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'profile' });
    return this.encoder;
  }

  pass(): GPUComputePassEncoder {
    return this.stand as unknown as GPUComputePassEncoder;
  }

  copies(): GPUCommandEncoder {
    return this.commandEncoder();
  }

  timedDispatch(pipeline: GPUComputePipeline, groups: readonly (GPUBindGroup | null)[], grid: [number, number, number] | { buffer: GPUBuffer; offset: number }): void {
    const index = this.labels.length;
    const setIndex = Math.floor(index / PAIRS_PER_SET);
    if (setIndex === this.sets.length) this.sets.push(this.device.createQuerySet({ type: 'timestamp', count: 2 * PAIRS_PER_SET }));
    const querySet = this.sets[setIndex]!;
    const pair = index % PAIRS_PER_SET;
    const pass = this.commandEncoder().beginComputePass({
      label: 'profile',
      timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * pair, endOfPassWriteIndex: 2 * pair + 1 },
    });
    pass.setPipeline(pipeline);
    groups.forEach((g, i) => pass.setBindGroup(i, g));
    if (Array.isArray(grid)) pass.dispatchWorkgroups(...grid);
    else pass.dispatchWorkgroupsIndirect(grid.buffer, grid.offset);
    pass.end();
    // an indirect dispatch's grid is known only on the GPU
    this.labels.push({ kernel: pipeline.label || 'unlabelled', grid: Array.isArray(grid) ? grid : [0, 0, 0] });
  }

  flush(): void {
    if (this.encoder !== undefined) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = undefined;
    }
  }

  /** Resolves every timestamp (after the recorded work was flushed) and returns one entry per dispatch. */
  async timings(): Promise<DispatchTiming[]> {
    this.flush();
    const encoder = this.device.createCommandEncoder({ label: 'profile.resolve' });
    const reads: GPUBuffer[] = [];
    const resolves: GPUBuffer[] = [];
    this.sets.forEach((set, s) => {
      const pairs = Math.min(PAIRS_PER_SET, this.labels.length - s * PAIRS_PER_SET);
      const bytes = 2 * pairs * QUERY_BYTES;
      const resolve = this.device.createBuffer({ label: 'profile.resolve', size: bytes, usage: QUERY_RESOLVE | COPY_SRC });
      const read = this.device.createBuffer({ label: 'profile.read', size: bytes, usage: MAP_READ | COPY_DST });
      encoder.resolveQuerySet(set, 0, 2 * pairs, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, read, 0, bytes);
      resolves.push(resolve);
      reads.push(read);
    });
    this.device.queue.submit([encoder.finish()]);
    const out: DispatchTiming[] = [];
    for (const [s, read] of reads.entries()) {
      await read.mapAsync(MAP_MODE_READ);
      const stamps = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      read.destroy();
      for (let p = 0; 2 * p + 1 < stamps.length; p++) {
        const label = this.labels[s * PAIRS_PER_SET + p]!;
        out.push({ ...label, ns: Number(stamps[2 * p + 1]! - stamps[2 * p]!) });
      }
    }
    for (const r of resolves) r.destroy();
    for (const set of this.sets) set.destroy();
    return out;
  }
}

/** Dispatch timings summed per kernel (and grid for the matrix products), longest first. */
export function summariseTimings(timings: readonly DispatchTiming[]): { key: string; count: number; ns: number }[] {
  const byKey = new Map<string, { key: string; count: number; ns: number }>();
  for (const t of timings) {
    const key = t.kernel === 'rt-matvec' ? `${t.kernel} ${t.grid.join('x')}` : t.kernel;
    const e = byKey.get(key) ?? { key, count: 0, ns: 0 };
    e.count++;
    e.ns += t.ns;
    byKey.set(key, e);
  }
  return [...byKey.values()].sort((a, b) => b.ns - a.ns);
}
