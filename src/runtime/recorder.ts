// The command recorder of a forward pass: one compute pass at a time inside one command encoder,
// submitted on flush() (see CommandRecorder in weights/weight-provider.ts).
import type { CommandRecorder } from './weights/weight-provider.js';

export class Recorder implements CommandRecorder {
  private encoder: GPUCommandEncoder | undefined;
  private open: GPUComputePassEncoder | undefined;
  private submitted = 0;

  constructor(
    readonly device: GPUDevice,
    private readonly label: string,
  ) {}

  /** Command buffers submitted so far. */
  get submissions(): number {
    return this.submitted;
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: this.label });
    return this.encoder;
  }

  pass(): GPUComputePassEncoder {
    this.open ??= this.commandEncoder().beginComputePass({ label: this.label });
    return this.open;
  }

  /** The encoder with no pass open, for copies. */
  copies(): GPUCommandEncoder {
    this.open?.end();
    this.open = undefined;
    return this.commandEncoder();
  }

  flush(): void {
    this.open?.end();
    this.open = undefined;
    if (this.encoder !== undefined) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = undefined;
      this.submitted++;
    }
  }
}
