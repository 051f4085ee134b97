/**
 * BF16 weights, resident or offloaded (modes bf16 and offload).
 *
 * Weights come in groups used together: the embedding, each decoder layer's seven matrices, the
 * output head (with tied embeddings, embedding and head are one group). A decoder layer's matrices
 * are packed into one buffer, back to back in the order q, k, v, o, gate, up, down (each at a
 * 256-byte boundary), when the device allows a buffer that large: then the q/k/v products and the
 * gate/up products can each run as one dispatch, as they do on a decoded DF11 unit, which has the
 * same layout. Otherwise (and for the vocabulary matrices) a resident matrix has a buffer of its own.
 * An offloaded group stays in host memory and is written into scratch buffers (one slot per matrix
 * kind, or one 'layer' slot for a packed layer, sized for the largest offloaded group) just before it
 * is used; the recorder is flushed first so the write lands after the previous user of the slot
 * (WebGPU queue order). An offloaded embedding only ever uploads the rows of the tokens at hand.
 *
 * Residency under a byte budget (see planResidency): the embedding goes to the host first (its rows
 * are cheap to upload), then layers from the last one down, then the head; or everything on the host.
 */
import { Df11Error } from '../../errors.js';
import { align, BUFFER_USAGE, UploadPacer, type GpuMemory } from '../gpu-memory.js';
import type { ModelConfig } from '../model-config.js';
import type { Bf16ModelFiles } from '../model-files.js';
import { EMBEDDING_WEIGHT, LAYER_MATRICES, LM_HEAD_WEIGHT, matrixWeight, type LayerMatrix } from '../weight-names.js';
import { checkBf16Matrix, matrixShape, vocabShape } from './matrix-shapes.js';
import type { CommandRecorder, EmbeddingLookup, LayerMatrices, WeightProvider, WeightRef } from './weight-provider.js';

const BF16_BYTES = 2;
/** Alignment of the matrices in a packed layer (minStorageBufferOffsetAlignment is at most 256). */
const PACK_ALIGN = 256;
/** Scratch slot of a matrix kind, of the vocabulary matrix (head, or tied embedding + head), or of a packed layer. */
type Slot = LayerMatrix | 'vocab' | 'layer';

interface Matrix {
  name: string;
  slot: Slot;
  rows: number;
  cols: number;
  bytes: number;
  /** Byte offset in the group's packed layout. */
  offset: number;
}

interface Group {
  label: string;
  matrices: Matrix[];
  /** GPU bytes: the packed layout, or the matrices' own buffers. */
  bytes: number;
  /** The matrices share one buffer (resident) or the 'layer' slot (offloaded), at their offsets. */
  packed: boolean;
  resident: boolean;
  /** Resident: where each matrix is (a packed group's matrices share one buffer). */
  places: Map<string, { buffer: GPUBuffer; byteOffset: number }>;
  /** Offloaded: the matrices' bytes. */
  host: Map<string, Uint8Array>;
}

export interface Bf16ProviderOptions {
  /** Reported by describe(); residency follows budgetBytes and offloadAll. */
  mode: 'bf16' | 'offload';
  /** GPU bytes the weights may take (resident matrices, scratch, embedding rows); Infinity: no cap. */
  budgetBytes: number;
  /** Keep every group in host memory (else as many resident as the budget allows). */
  offloadAll?: boolean;
  /** Most tokens per forward pass (rows of the embedding upload buffer). */
  maxChunk: number;
}

function matrix(name: string, slot: Slot, [rows, cols]: [number, number]): Matrix {
  return { name, slot, rows, cols, bytes: rows * cols * BF16_BYTES, offset: 0 };
}

/** A group; packed (matrices at PACK_ALIGN offsets of one buffer) when it has several matrices and the layout fits maxBufferSize. */
function group(label: string, matrices: Matrix[], maxBufferSize: number): Group {
  let end = 0;
  for (const m of matrices) {
    m.offset = align(end, PACK_ALIGN);
    end = m.offset + m.bytes;
  }
  const packed = matrices.length > 1 && align(end, 4) <= maxBufferSize;
  if (!packed) for (const m of matrices) m.offset = 0;
  const bytes = packed ? align(end, 4) : matrices.reduce((s, m) => s + align(m.bytes, 4), 0);
  return { label, matrices, bytes, packed, resident: true, places: new Map(), host: new Map() };
}

/** Writes `bytes` at `offset` (a multiple of 4), the last partial word zero-padded (writeBuffer moves whole words). */
function writePadded(queue: GPUQueue, buffer: GPUBuffer, offset: number, bytes: Uint8Array): void {
  const whole = bytes.length - (bytes.length % 4);
  if (whole > 0) queue.writeBuffer(buffer, offset, bytes, 0, whole);
  if (whole < bytes.length) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(whole));
    queue.writeBuffer(buffer, offset + whole, tail);
  }
}

/** Bytes of the scratch slots needed to stream `groups`. */
function scratchBytes(groups: readonly Group[]): Map<Slot, number> {
  const slots = new Map<Slot, number>();
  for (const g of groups) {
    if (g.packed) slots.set('layer', Math.max(slots.get('layer') ?? 0, g.bytes));
    else for (const m of g.matrices) slots.set(m.slot, Math.max(slots.get(m.slot) ?? 0, align(m.bytes, 4)));
  }
  return slots;
}

export class Bf16WeightProvider implements WeightProvider {
  private readonly slots = new Map<Slot, GPUBuffer>();
  private rowsBuffer: GPUBuffer | undefined;
  private bytesHeld = 0;

  private constructor(
    readonly mode: 'bf16' | 'offload',
    private readonly memory: GpuMemory,
    private readonly config: ModelConfig,
    private readonly embed: Group,
    private readonly layers: Group[],
    private readonly head: Group,
    private readonly maxChunk: number,
  ) {}

  get gpuBytes(): number {
    return this.bytesHeld;
  }

  get hostEmbedding(): boolean {
    return !this.embed.resident;
  }

  /**
   * Plans residency under `options.budgetBytes`, reads every matrix and uploads the resident ones.
   * @throws Df11Error 'gpu-memory' when even full offload does not fit the budget; weight errors of
   *   checkBf16Matrix.
   */
  static async create(memory: GpuMemory, files: Bf16ModelFiles, config: ModelConfig, options: Bf16ProviderOptions): Promise<Bf16WeightProvider> {
    const t = files.tensors;
    const [vocab, hidden] = vocabShape(config);
    checkBf16Matrix(t, EMBEDDING_WEIGHT, vocab, hidden, files.name);
    const tied = config.tieWordEmbeddings || !t.has(LM_HEAD_WEIGHT);
    if (!tied) checkBf16Matrix(t, LM_HEAD_WEIGHT, vocab, hidden, files.name);
    const maxBuffer = memory.device.limits.maxBufferSize;
    const embed = group('embedding', [matrix(EMBEDDING_WEIGHT, 'vocab', [vocab, hidden])], maxBuffer);
    const head = tied ? embed : group('lm_head', [matrix(LM_HEAD_WEIGHT, 'vocab', [vocab, hidden])], maxBuffer);
    const layers: Group[] = [];
    for (let l = 0; l < config.layers; l++) {
      const ms = LAYER_MATRICES.map((m) => {
        const shape = matrixShape(config, m);
        checkBf16Matrix(t, matrixWeight(l, m), shape[0], shape[1], files.name);
        return matrix(matrixWeight(l, m), m, shape);
      });
      layers.push(group(`layer ${l}`, ms, maxBuffer));
    }
    const p = new Bf16WeightProvider(options.mode, memory, config, embed, layers, head, options.maxChunk);
    p.planResidency(options.budgetBytes, options.offloadAll ?? false);
    try {
      await p.load(files);
    } catch (e) {
      p.destroy();
      throw e;
    }
    return p;
  }

  private get groups(): Group[] {
    return this.head === this.embed ? [this.embed, ...this.layers] : [this.embed, ...this.layers, this.head];
  }

  private rowsBytes(): number {
    return this.maxChunk * this.config.hiddenSize * BF16_BYTES;
  }

  /** GPU bytes of the current plan. */
  private plannedBytes(): number {
    const streamed = this.groups.filter((g) => !g.resident);
    let total = this.groups.filter((g) => g.resident).reduce((s, g) => s + g.bytes, 0);
    for (const b of scratchBytes(streamed).values()) total += b;
    if (!this.embed.resident) total += this.rowsBytes();
    return total;
  }

  /**
   * Everything resident if it fits; otherwise groups go to the host (embedding, then layers from the
   * last one down, then the head) until the rest fits. With `offloadAll`, every group goes to the host.
   */
  private planResidency(budget: number, offloadAll: boolean): void {
    const toHost = [this.embed, ...[...this.layers].reverse(), ...(this.head === this.embed ? [] : [this.head])];
    for (const g of toHost) {
      if (!offloadAll && this.plannedBytes() <= budget) return;
      g.resident = false;
    }
    if (this.plannedBytes() > budget) {
      throw new Df11Error(
        'gpu-memory',
        `the weights need at least ${this.plannedBytes()} bytes of GPU memory with every group offloaded (scratch for the largest ones); the limit leaves ${budget}`,
      );
    }
  }

  private async load(files: Bf16ModelFiles): Promise<void> {
    const pacer = new UploadPacer(this.memory.device);
    const queue = this.memory.device.queue;
    for (const g of this.groups) {
      const shared = g.resident && g.packed ? this.memory.create(g.label, g.bytes, BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_DST) : undefined;
      if (shared) {
        this.bytesHeld += g.bytes;
        for (const m of g.matrices) g.places.set(m.name, { buffer: shared, byteOffset: m.offset });
      }
      for (const m of g.matrices) {
        const bytes = await files.tensors.read(m.name);
        if (bytes.length !== m.bytes) throw new Df11Error('shape-size-mismatch', `holds ${bytes.length} bytes, expected ${m.bytes}`, { file: files.name, tensor: m.name });
        if (shared) {
          writePadded(queue, shared, m.offset, bytes);
          await pacer.add(m.bytes);
        } else if (g.resident) {
          const buffer = this.memory.createWith(m.name, bytes, BUFFER_USAGE.STORAGE);
          g.places.set(m.name, { buffer, byteOffset: 0 });
          this.bytesHeld += align(m.bytes, 4);
          await pacer.add(m.bytes);
        } else {
          g.host.set(m.name, bytes);
        }
      }
    }
    for (const [slot, bytes] of scratchBytes(this.groups.filter((g) => !g.resident))) {
      this.slots.set(slot, this.memory.create(`scratch.${slot}`, bytes, BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_DST));
      this.bytesHeld += bytes;
    }
    if (!this.embed.resident) {
      this.rowsBuffer = this.memory.create('scratch.embedding-rows', this.rowsBytes(), BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_DST);
      this.bytesHeld += this.rowsBytes();
    }
  }

  /** Refs of a group's matrices; an offloaded group is uploaded into the scratch slots first. */
  private refs(g: Group, rec: CommandRecorder): Map<string, WeightRef> {
    const out = new Map<string, WeightRef>();
    if (!g.resident) rec.flush();
    for (const m of g.matrices) {
      let place = g.places.get(m.name);
      if (place === undefined) {
        const buffer = this.slots.get(g.packed ? 'layer' : m.slot)!;
        writePadded(rec.device.queue, buffer, m.offset, g.host.get(m.name)!);
        place = { buffer, byteOffset: m.offset };
      }
      out.set(m.name, { buffer: place.buffer, byteOffset: place.byteOffset, rows: m.rows, cols: m.cols, name: m.name });
    }
    return out;
  }

  embedding(tokens: Uint32Array, rec: CommandRecorder, _ids: GPUBuffer): EmbeddingLookup {
    const m = this.embed.matrices[0]!;
    const place = this.embed.places.get(m.name);
    if (place !== undefined) return { table: { buffer: place.buffer, byteOffset: place.byteOffset, rows: m.rows, cols: m.cols, name: m.name }, ids: tokens };
    if (tokens.length > this.maxChunk) throw new RangeError(`${tokens.length} tokens exceed the chunk of ${this.maxChunk}`);
    const host = this.embed.host.get(m.name)!;
    const rowBytes = m.cols * BF16_BYTES;
    const rows = new Uint8Array(align(tokens.length * rowBytes, 4));
    tokens.forEach((id, i) => rows.set(host.subarray(id * rowBytes, (id + 1) * rowBytes), i * rowBytes));
    rec.flush();
    rec.device.queue.writeBuffer(this.rowsBuffer!, 0, rows);
    return { table: { buffer: this.rowsBuffer!, byteOffset: 0, rows: tokens.length, cols: m.cols, name: `${m.name} (rows)` }, ids: Uint32Array.from(tokens, (_, i) => i) };
  }

  layer(layer: number, rec: CommandRecorder): LayerMatrices {
    const g = this.layers[layer];
    if (g === undefined) throw new RangeError(`no layer ${layer}`);
    const refs = this.refs(g, rec);
    const out = {} as Record<LayerMatrix, WeightRef>;
    for (const m of LAYER_MATRICES) out[m] = refs.get(matrixWeight(layer, m))!;
    return out;
  }

  lmHead(rec: CommandRecorder): WeightRef {
    return this.refs(this.head, rec).get(this.head.matrices[0]!.name)!;
  }

  afterForward(): Promise<void> {
    return Promise.resolve();
  }

  reset(): void {}

  describe(): string {
    const groups = this.groups;
    const resident = groups.filter((g) => g.resident);
    const hostBytes = groups.filter((g) => !g.resident).reduce((s, g) => s + g.bytes, 0);
    if (resident.length === groups.length) return `bf16: all ${groups.length} weight groups resident (${this.bytesHeld} bytes)`;
    return `${this.mode}: ${resident.length} of ${groups.length} weight groups resident, ${hostBytes} bytes in host memory uploaded each forward pass; GPU ${this.bytesHeld} bytes`;
  }

  destroy(): void {
    for (const g of this.groups) {
      for (const b of new Set([...g.places.values()].map((p) => p.buffer))) this.memory.destroy(b);
      g.places.clear();
      g.host.clear();
    }
    for (const b of this.slots.values()) this.memory.destroy(b);
    this.slots.clear();
    if (this.rowsBuffer) this.memory.destroy(this.rowsBuffer);
    this.rowsBuffer = undefined;
    this.bytesHeld = 0;
  }
}
