/**
 * Recorded dispatches, replayed while their inputs are unchanged. The host cost of recording a
 * forward pass is mostly per dispatch (uniform and bind group lookups by string key, size checks);
 * a decode step of a large model records ~14 dispatches per layer with the same pipelines, bind
 * groups and grid every token. A Tape keeps, per segment of the pass (the embedding, each layer, the
 * head), the dispatches made the last time and the values they were made from (`deps`: buffers,
 * offsets, token count); when the deps are the same objects and numbers, the dispatches are replayed
 * as they were, skipping the lookups and consecutive identical setPipeline calls.
 */

/** One recorded dispatch. */
export interface TapeOp {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  x: number;
  y: number;
  z: number;
}

interface Segment {
  deps: readonly unknown[];
  ops: TapeOp[];
}

export class Tape {
  private readonly segments = new Map<number, Segment>();

  /**
   * Replays segment `key` into `pass` when it was recorded from the same `deps` (compared element
   * by element with ===); otherwise runs `record(capture)`, where `capture` collects the dispatches
   * the recording makes (they are also recorded into `pass` by the caller as usual), and keeps them.
   */
  run(pass: GPUComputePassEncoder, key: number, deps: readonly unknown[], record: (capture: TapeOp[]) => void): void {
    const seg = this.segments.get(key);
    if (seg !== undefined && sameDeps(seg.deps, deps)) {
      let last: GPUComputePipeline | undefined;
      for (const op of seg.ops) {
        if (op.pipeline !== last) pass.setPipeline(op.pipeline);
        last = op.pipeline;
        pass.setBindGroup(0, op.bindGroup);
        pass.dispatchWorkgroups(op.x, op.y, op.z);
      }
      return;
    }
    this.segments.delete(key);
    const ops: TapeOp[] = [];
    record(ops);
    this.segments.set(key, { deps: [...deps], ops });
  }

  /** Forgets every segment (after bind groups were dropped or buffers destroyed). */
  clear(): void {
    this.segments.clear();
  }
}

function sameDeps(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
