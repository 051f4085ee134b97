// A plain WGSL copy (vec4<u32> per invocation, grid-stride) as the memory-bandwidth baseline of the
// decode benchmarks: copying X bytes reads X and writes X.
export const COPY_WGSL = `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let n = arrayLength(&dst);
  let stride = groups.x * 256u;
  for (var i = gid.x; i < n; i += stride) {
    dst[i] = src[i];
  }
}
`;

const STORAGE = 0x80;
/** Workgroups of the grid-stride copy: enough to fill any current GPU. */
const COPY_WORKGROUPS = 8192;

/**
 * A copy of the first `bytes` (multiple of 16) of `src` (real data, e.g. a decoded unit: never time
 * zeros) into a fresh buffer, in windows of at most the binding limit.
 */
export function createCopy(device: GPUDevice, src: GPUBuffer, bytes: number): { record(pass: GPUComputePassEncoder): void; destroy(): void } {
  const module = device.createShaderModule({ code: COPY_WGSL });
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
