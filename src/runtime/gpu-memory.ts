/**
 * GPU memory accounting for the engine: every buffer the engine allocates goes through GpuMemory,
 * which counts the bytes held now and at the peak and enforces an optional cap (`--gpu-memory`).
 * Buffers created elsewhere on the engine's behalf (DF11 units uploaded by the decoder) are added
 * with track()/untrack().
 */
import { Df11Error } from '../errors.js';
import { BUFFER_USAGE } from '../gpu/gpu-unit.js';

export { BUFFER_USAGE };

/** WebGPU buffer sizes are multiples of 4 bytes for storage use. */
export const BUFFER_ALIGN_BYTES = 4;

export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * Queued upload bytes after which model loading waits for the GPU. Dawn copies the data of each
 * queue.writeBuffer into host staging memory that is freed only once the GPU has run the copy, so a
 * model uploaded without waiting would briefly hold a second host copy of itself (16 GB for an 8B
 * model in BF16).
 */
export const UPLOAD_SYNC_BYTES = 256 * 1024 ** 2;

/** Bounds the host staging memory of a sequence of uploads (see UPLOAD_SYNC_BYTES). */
export class UploadPacer {
  private pending = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly syncBytes = UPLOAD_SYNC_BYTES,
  ) {}

  /** Counts `bytes` just queued; once syncBytes have been, waits until the GPU has run them. */
  async add(bytes: number): Promise<void> {
    this.pending += bytes;
    if (this.pending < this.syncBytes) return;
    this.pending = 0;
    this.device.queue.submit([]);
    await this.device.queue.onSubmittedWorkDone();
  }
}

export class GpuMemory {
  private current = 0;
  private highWater = 0;
  private readonly sizes = new Map<GPUBuffer, number>();

  /**
   * @param device the engine's device
   * @param capBytes bytes the engine may hold at once (undefined: no cap besides the device's)
   */
  constructor(
    readonly device: GPUDevice,
    readonly capBytes: number | undefined,
  ) {}

  /** Bytes held now. */
  get allocatedBytes(): number {
    return this.current;
  }

  /** Most bytes held at once so far. */
  get peakBytes(): number {
    return this.highWater;
  }

  /** Bytes that may still be allocated under the cap (Infinity without one). */
  get availableBytes(): number {
    return this.capBytes === undefined ? Number.POSITIVE_INFINITY : Math.max(0, this.capBytes - this.current);
  }

  /** True when `bytes` more fit under the cap. */
  fits(bytes: number): boolean {
    return bytes <= this.availableBytes;
  }

  /**
   * A buffer of at least `bytes` (rounded up to 4), counted against the cap.
   * @throws Df11Error 'gpu-memory' over the cap, 'gpu-limit' above the device's maxBufferSize.
   */
  create(label: string, bytes: number, usage: number): GPUBuffer {
    const size = align(Math.max(bytes, BUFFER_ALIGN_BYTES), BUFFER_ALIGN_BYTES);
    if (size > this.device.limits.maxBufferSize) {
      throw new Df11Error('gpu-limit', `${label} needs a buffer of ${size} bytes; the device allows ${this.device.limits.maxBufferSize}`);
    }
    this.reserve(size, label);
    const buffer = this.device.createBuffer({ label, size, usage });
    this.sizes.set(buffer, size);
    return buffer;
  }

  /** A buffer holding `data` (padded with zeros to a multiple of 4 bytes). */
  createWith(label: string, data: ArrayBufferView, usage: number): GPUBuffer {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const buffer = this.create(label, bytes.length, usage | BUFFER_USAGE.COPY_DST);
    const whole = bytes.length - (bytes.length % BUFFER_ALIGN_BYTES);
    if (whole > 0) this.device.queue.writeBuffer(buffer, 0, bytes, 0, whole);
    if (whole < bytes.length) {
      const tail = new Uint8Array(BUFFER_ALIGN_BYTES);
      tail.set(bytes.subarray(whole));
      this.device.queue.writeBuffer(buffer, whole, tail);
    }
    return buffer;
  }

  /** Frees a buffer made by create(). */
  destroy(buffer: GPUBuffer): void {
    const size = this.sizes.get(buffer);
    if (size === undefined) return;
    this.sizes.delete(buffer);
    this.current -= size;
    buffer.destroy();
  }

  /** Counts `bytes` held by buffers created elsewhere. @throws Df11Error 'gpu-memory' over the cap. */
  track(bytes: number, label: string): void {
    this.reserve(bytes, label);
  }

  untrack(bytes: number): void {
    this.current -= bytes;
  }

  /** Frees every buffer made by create(). */
  destroyAll(): void {
    for (const b of [...this.sizes.keys()]) this.destroy(b);
  }

  private reserve(bytes: number, label: string): void {
    if (!this.fits(bytes)) {
      throw new Df11Error(
        'gpu-memory',
        `${label} needs ${bytes} bytes but only ${this.availableBytes} of the ${this.capBytes} allowed by the GPU memory limit are free`,
      );
    }
    this.current += bytes;
    this.highWater = Math.max(this.highWater, this.current);
  }
}
