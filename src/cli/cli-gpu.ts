// The WebGPU device of a CLI command: says on stderr which adapter runs the work, and warns when it
// is SwiftShader (the CPU fallback used where there is no GPU).
import { acquireGpu, describeAdapter, type GpuContext } from '../gpu/device.js';
import type { CliContext } from './command.js';

/** A GPU context for a command; the caller destroys it. Throws Df11Error 'no-adapter' without one. */
export async function acquireCliGpu(ctx: CliContext): Promise<GpuContext> {
  const gpu = await acquireGpu();
  ctx.info(`adapter: ${describeAdapter(gpu.adapter)}`);
  if (gpu.adapter.isSwiftShader) ctx.stderr.write('note: running on SwiftShader, a CPU fallback of WebGPU: expect low speed\n');
  return gpu;
}
