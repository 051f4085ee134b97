/**
 * DF11 weights (mode df11): every unit stays resident on the GPU compressed; before a group of
 * matrices is used (the embedding, a decoder layer, the head), the units holding it are decoded by
 * the WebGPU decoder into one reused scratch buffer, in the same compute pass as the layer's kernels.
 * Where the decoder writes exponent planes, the matrices of the products (layers, head) are decoded
 * to their exponent plane only, one byte per weight, and the products read it beside the unit's
 * resident sign_mantissa (WeightRef planes): half the scratch (one byte per weight), no sign_mantissa
 * pass in the decoder, and the same bits as the BF16 matrix. The embedding lookup reads planes too.
 * A unit's decoded BF16 vector is cut at its split_positions into one matrix per attr, in the order
 * of the pattern dict's attrs (df11-format.md §9); shapes come from config.json.
 *
 * Matrices outside every unit (a model that keeps its embedding or head in BF16) are resident BF16.
 * Tied embeddings: the head is the `lm_head` unit when the model has one (the reference compressor
 * writes it), else the embedding.
 */
import { Df11Error } from '../../errors.js';
import { unitPieces } from '../../format/df11-pieces.js';
import { shapesFromConfig } from '../../format/df11-pieces.js';
import { OUTPUT_BYTES, type DecodeOutput } from '../../gpu/decode-plan.js';
import { GpuDecoder, type GpuDecoderOptions } from '../../gpu/decoder.js';
import type { GpuUnit } from '../../gpu/gpu-unit.js';
import { align, BUFFER_USAGE, UploadPacer, type GpuMemory } from '../gpu-memory.js';
import type { ModelConfig } from '../model-config.js';
import type { Df11ModelFiles, Df11UnitInfo } from '../model-files.js';
import { EMBEDDING_WEIGHT, LAYER_MATRICES, LM_HEAD_WEIGHT, matrixWeight, type LayerMatrix } from '../weight-names.js';
import { checkBf16Matrix, matrixShape, vocabShape } from './matrix-shapes.js';
import type { CommandRecorder, EmbeddingLookup, LayerMatrices, WeightProvider, WeightRef } from './weight-provider.js';

/** Units are placed in the scratch buffer at this alignment (minStorageBufferOffsetAlignment <= 256). */
const SCRATCH_ALIGN_BYTES = 256;

/** Where one matrix lives: a piece of a unit, or a resident BF16 buffer. */
type Placement = { kind: 'unit'; unit: string; elementOffset: number; rows: number; cols: number } | { kind: 'plain'; ref: WeightRef };

interface LoadedUnit {
  info: Df11UnitInfo;
  gpu: GpuUnit;
  bytes: number;
}

/** A set of units decoded together, to BF16 or to exponent planes, and each one's byte offset in the scratch buffer. */
interface DecodeGroup {
  key: string;
  output: DecodeOutput;
  offsets: Map<string, number>;
  bytes: number;
}

export interface Df11ProviderOptions {
  /**
   * Decode the matrices of the products to exponent planes where the decoder can (default true);
   * false decodes them to BF16 (the same bits, more scratch traffic; for comparisons).
   */
  exponentPlanes?: boolean;
}

export class Df11WeightProvider implements WeightProvider {
  readonly mode = 'df11' as const;
  readonly hostEmbedding = false;
  private scratch: GPUBuffer | undefined;
  private scratchGroup: string | undefined;
  private readonly plain: GPUBuffer[] = [];
  private trackedBytes = 0;
  private checked = false;
  private headName = '';
  private readonly groupsByKey = new Map<string, DecodeGroup>();

  private constructor(
    private readonly memory: GpuMemory,
    private readonly decoder: GpuDecoder,
    private readonly units: Map<string, LoadedUnit>,
    private readonly placements: Map<string, Placement>,
    private readonly layerCount: number,
    /** How the units are decoded ('exponents' where the decoder can). */
    private readonly productOutput: DecodeOutput,
  ) {}

  get gpuBytes(): number {
    return this.trackedBytes;
  }

  /**
   * Uploads every unit (compressed), maps each matrix of the model to a unit piece or a BF16 tensor,
   * and allocates the scratch buffer for the largest decode group.
   * @throws Df11Error 'unit-invalid' (pieces that do not match the config's shapes, bad unit data),
   *   'tensor-not-found' (a matrix in no unit and no tensor), 'gpu-memory', 'gpu-limit'.
   */
  static async create(memory: GpuMemory, files: Df11ModelFiles, config: ModelConfig, decoderOptions: GpuDecoderOptions = {}, options: Df11ProviderOptions = {}): Promise<Df11WeightProvider> {
    const decoder = await GpuDecoder.create(memory.device, decoderOptions);
    const units = new Map<string, LoadedUnit>();
    const placements = new Map<string, Placement>();
    const lookup = shapesFromConfig(files.config);
    const planes = (options.exponentPlanes ?? true) && decoder.writesExponentPlane;
    const p = new Df11WeightProvider(memory, decoder, units, placements, config.layers, planes ? 'exponents' : 'bf16');
    const pacer = new UploadPacer(memory.device);
    try {
      for (const info of files.units) {
        const pieces = unitPieces(info, lookup, files.name);
        for (const piece of pieces) {
          placements.set(piece.tensor, { kind: 'unit', unit: info.path, elementOffset: piece.offset, rows: piece.shape[0]!, cols: piece.shape[1] ?? 1 });
        }
        const data = await files.readUnit(info.path);
        // The index build's temporary buffer counts against the cap until the GPU is done with it.
        const transient = decoder.uploadScratchBytes(data);
        memory.track(transient, `index build of DF11 unit ${info.path}`);
        let gpu: GpuUnit;
        try {
          gpu = decoder.upload(data, { file: files.name, tensor: info.path });
        } catch (e) {
          memory.untrack(transient);
          throw e;
        }
        // Only the embedding is ever decoded a row at a time (by the chunk kernel); every other unit
        // is decoded whole, by the indexed kernel where it has an index, so its gaps can go.
        const rowDecoded = pieces.some((piece) => piece.tensor === EMBEDDING_WEIGHT);
        if (!rowDecoded) decoder.releaseChunkData(gpu);
        const bytes = Object.values(gpu.buffers).reduce((s, b) => s + b.size, 0) - (gpu.chunkDataReleased ? gpu.buffers.gaps.size : 0);
        try {
          memory.track(bytes, `DF11 unit ${info.path}`);
        } catch (e) {
          decoder.release(gpu);
          memory.untrack(transient);
          throw e;
        }
        units.set(info.path, { info, gpu, bytes });
        await pacer.add(bytes);
        p.trackedBytes += bytes;
        if (transient > 0) {
          await memory.device.queue.onSubmittedWorkDone();
          memory.untrack(transient);
        }
      }
      const [vocab, hidden] = vocabShape(config);
      const needed: [string, number, number][] = [[EMBEDDING_WEIGHT, vocab, hidden]];
      for (let l = 0; l < config.layers; l++) for (const m of LAYER_MATRICES) needed.push([matrixWeight(l, m), ...matrixShape(config, m)]);
      const headName = placements.has(LM_HEAD_WEIGHT) || files.tensors.has(LM_HEAD_WEIGHT) || !config.tieWordEmbeddings ? LM_HEAD_WEIGHT : EMBEDDING_WEIGHT;
      needed.push([headName, vocab, hidden]);
      for (const [name, rows, cols] of needed) await p.place(files, name, rows, cols);
      p.headName = headName;
      p.allocateScratch();
    } catch (e) {
      p.destroy();
      throw e;
    }
    return p;
  }

  /** Checks a unit piece's shape, or uploads a matrix stored as a plain BF16 tensor. */
  private async place(files: Df11ModelFiles, name: string, rows: number, cols: number): Promise<void> {
    const at = this.placements.get(name);
    if (at?.kind === 'unit') {
      if (at.rows !== rows || at.cols !== cols) {
        throw new Df11Error('unit-invalid', `piece of unit ${at.unit} has shape [${at.rows}, ${at.cols}], the config implies [${rows}, ${cols}]`, { file: files.name, tensor: name });
      }
      return;
    }
    if (at !== undefined) return;
    checkBf16Matrix(files.tensors, name, rows, cols, files.name);
    const buffer = this.memory.createWith(name, await files.tensors.read(name), BUFFER_USAGE.STORAGE);
    this.plain.push(buffer);
    this.trackedBytes += buffer.size;
    this.placements.set(name, { kind: 'plain', ref: { buffer, byteOffset: 0, rows, cols, name } });
  }

  /** The units holding `names`, in first-use order, with their scratch offsets for `output`. */
  private decodeGroup(names: readonly string[], output: DecodeOutput): DecodeGroup {
    const paths: string[] = [];
    for (const n of names) {
      const at = this.placements.get(n);
      if (at?.kind === 'unit' && !paths.includes(at.unit)) paths.push(at.unit);
    }
    const key = `${output}:${paths.join('|')}`;
    let g = this.groupsByKey.get(key);
    if (g === undefined) {
      const offsets = new Map<string, number>();
      let bytes = 0;
      for (const path of paths) {
        offsets.set(path, bytes);
        bytes = align(bytes + this.units.get(path)!.info.geometry.n * OUTPUT_BYTES[output], SCRATCH_ALIGN_BYTES);
      }
      g = { key, output, offsets, bytes };
      this.groupsByKey.set(key, g);
    }
    return g;
  }

  /** Every decode group: the embedding, the head and each layer. */
  private groups(): DecodeGroup[] {
    const groups = [this.decodeGroup([EMBEDDING_WEIGHT], this.productOutput), this.decodeGroup([this.headName], this.productOutput)];
    for (let l = 0; l < this.layerCount; l++) groups.push(this.decodeGroup(LAYER_MATRICES.map((m) => matrixWeight(l, m)), this.productOutput));
    return groups;
  }

  private allocateScratch(): void {
    const bytes = Math.max(0, ...this.groups().map((g) => g.bytes));
    if (bytes === 0) return;
    this.scratch = this.memory.create('df11.scratch', bytes, BUFFER_USAGE.STORAGE);
    this.trackedBytes += this.scratch.size;
  }

  /** Records the decode of the group holding `names` (to `output`) unless the scratch holds it already. */
  private refs(names: readonly string[], rec: CommandRecorder, output: DecodeOutput): WeightRef[] {
    const g = this.decodeGroup(names, output);
    if (g.offsets.size > 0 && this.scratchGroup !== g.key) {
      const pass = rec.pass();
      for (const [path, offset] of g.offsets) this.decoder.decodeInPass(pass, this.units.get(path)!.gpu, this.scratch!, offset, output);
      this.scratchGroup = g.key;
    }
    return names.map((name) => {
      const at = this.placements.get(name)!;
      if (at.kind === 'plain') return at.ref;
      const byteOffset = g.offsets.get(at.unit)! + at.elementOffset * OUTPUT_BYTES[output];
      const ref: WeightRef = { buffer: this.scratch!, byteOffset, rows: at.rows, cols: at.cols, name };
      if (output === 'exponents') ref.signMantissa = { buffer: this.units.get(at.unit)!.gpu.buffers.sm, byteOffset: at.elementOffset };
      return ref;
    });
  }

  /**
   * One token: only the chunks holding its row are decoded (the row chosen on the GPU from `ids`),
   * unless the scratch already holds the whole embedding (tied head); the scratch then holds no whole
   * group. Several tokens: the whole embedding unit.
   */
  embedding(tokens: Uint32Array, rec: CommandRecorder, ids: GPUBuffer): EmbeddingLookup {
    const output = this.productOutput;
    const g = this.decodeGroup([EMBEDDING_WEIGHT], output);
    const at = this.placements.get(EMBEDDING_WEIGHT)!;
    if (tokens.length === 1 && at.kind === 'unit' && this.scratchGroup !== g.key) {
      const offset = g.offsets.get(at.unit)!;
      const unit = this.units.get(at.unit)!.gpu;
      if (this.decoder.decodeRowInPass(rec.pass(), unit, this.scratch!, offset, ids, at.cols, at.elementOffset, output)) {
        this.scratchGroup = undefined;
        const table: WeightRef = { buffer: this.scratch!, byteOffset: offset + at.elementOffset * OUTPUT_BYTES[output], rows: at.rows, cols: at.cols, name: `${EMBEDDING_WEIGHT} (row)` };
        if (output === 'exponents') table.signMantissa = { buffer: unit.buffers.sm, byteOffset: at.elementOffset };
        return { table, ids: tokens };
      }
    }
    return { table: this.refs([EMBEDDING_WEIGHT], rec, output)[0]!, ids: tokens };
  }

  layer(layer: number, rec: CommandRecorder): LayerMatrices {
    const refs = this.refs(LAYER_MATRICES.map((m) => matrixWeight(layer, m)), rec, this.productOutput);
    const out = {} as Record<LayerMatrix, WeightRef>;
    LAYER_MATRICES.forEach((m, i) => (out[m] = refs[i]!));
    return out;
  }

  lmHead(rec: CommandRecorder): WeightRef {
    return this.refs([this.headName], rec, this.productOutput)[0]!;
  }

  /**
   * After the first forward pass, reads the decoder's error flags once: a unit decodes to the same
   * output every time, so one clean decode of each unit proves them all.
   * @throws Df11Error 'gpu-decode-error' naming the unit.
   */
  async afterForward(): Promise<void> {
    if (this.checked) return;
    await this.decoder.checkErrors();
    this.checked = true;
  }

  reset(): void {
    this.scratchGroup = undefined;
  }

  describe(): string {
    const compressed = [...this.units.values()].reduce((s, u) => s + u.bytes, 0);
    const plain = this.plain.reduce((s, b) => s + b.size, 0);
    const how = this.productOutput === 'exponents' ? 'products read exponent planes' : 'products read BF16';
    return `df11: ${this.units.size} units resident compressed (${compressed} bytes)${plain > 0 ? `, ${this.plain.length} BF16 matrices (${plain} bytes)` : ''}, decode scratch ${this.scratch?.size ?? 0} bytes (${how})`;
  }

  destroy(): void {
    for (const u of this.units.values()) {
      this.decoder.release(u.gpu);
      this.memory.untrack(u.bytes);
    }
    this.units.clear();
    this.decoder.destroy();
    for (const b of this.plain) this.memory.destroy(b);
    this.plain.length = 0;
    if (this.scratch) this.memory.destroy(this.scratch);
    this.scratch = undefined;
    this.trackedBytes = 0;
  }
}
