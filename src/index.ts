// Public entry point of the df11 library.
export { Df11Error, type Df11ErrorCode } from './errors.js';
export type { Df11Unit } from './codec/unit.js';
export { DTYPE_BYTES, isDtype, type Dtype } from './format/dtype.js';
export {
  encodeSafetensorsHeader,
  parseSafetensorsHeader,
  MAX_HEADER_BYTES,
  type SafetensorsHeader,
  type TensorEntry,
  type TensorSpec,
} from './format/safetensors-header.js';
export { SafetensorsReader } from './format/safetensors-reader.js';
export { SafetensorsWriter, writeSafetensors } from './format/safetensors-writer.js';
export { SafetensorsModel, type SafetensorsModelOptions } from './format/safetensors-model.js';
export { importLlama2c, readLlama2c, llama2cHfConfig, type ImportLlama2cOptions, type Llama2cHeader, type Llama2cModel } from './format/llama2c.js';
export { resolveModelSource, parseHubRepoId, type ModelSource, type ModelSourceOptions } from './cli/model-source.js';
export {
  DF11_WRITE_VERSION,
  compilePatternDict,
  df11ConfigFromModelConfig,
  df11ConfigToJson,
  makeDf11Config,
  parseDf11Config,
  parsePatternDict,
  patternDictToJson,
  rejectLegacyConfig,
  withDf11Config,
  type Df11Config,
  type PatternDict,
  type PatternEntry,
} from './format/df11-config.js';
export { compileFullmatch } from './format/df11-regex.js';
export { checkUnitTensors, DF11_FIELDS, type Df11UnitTensors, type UnitGeometry } from './format/df11-unit-tensors.js';
export { planUnits, tiedWeightAliases, compareModulePaths, type PlannedAttr, type PlannedUnit, type TensorInfo, type UnitPlan } from './format/df11-units.js';
export {
  genericPatternDict,
  publishedPatternDict,
  selectPatternDict,
  GENERIC_MIN_STANDALONE_NUMEL,
  PUBLISHED_DICT_NAMES,
  type PatternDictChoice,
  type PublishedDictName,
} from './format/pattern-dicts.js';
export {
  DF11_CHECKSUM_KEY_PREFIX,
  checksumMetadataKey,
  unitShardFileName,
  unitTensorSources,
  writeDf11ConfigFile,
  writeDf11Directory,
  writeDf11SingleFile,
  writeRemainderFile,
  writeTensorFile,
  writeUnitShard,
  type TensorSource,
  type UnitToWrite,
} from './format/df11-layout.js';
export { openDf11Model, type Df11Model, type Df11UnitRef, type OpenDf11Options } from './format/df11-open.js';
export { shapesFromConfig, shapesFromTensors, unitPieces, type UnitPiece } from './format/df11-pieces.js';
export { encodeUnit, encodeUnitPieces } from './codec/encode.js';
export { decodeUnit, decodeUnitInto } from './codec/decode-serial.js';
export { validateUnit, validateLuts, type UnitContext, type UnitGeometry as CodecUnitGeometry } from './codec/validate-unit.js';
export { exponentHistogram } from './codec/histogram.js';
export { buildHuffmanCode, type HuffmanCode } from './codec/huffman-build.js';
export { buildDecodeTables } from './codec/decode-table.js';
export { splitBf16, joinBf16Into } from './codec/bf16.js';
export { EncodePool, type EncodeResult } from './codec/encode-parallel.js';
export { compressModel, type CompressOptions, type CompressSummary } from './cli/compress-model.js';
export { decompressModel, DEFAULT_SHARD_BYTES, type DecompressOptions, type DecompressSummary } from './cli/decompress-model.js';
export { verifyModel, type VerifyFailure, type VerifyOptions, type VerifySummary } from './cli/verify-model.js';
export { openInputModel, type InputModel } from './cli/model-input.js';
export { decodeChunked, decodeChunksInto, decodePreparedChunks, prepareUnit, createChunkScratch, type PreparedUnit } from './codec/decode-chunked.js';
export { DecodePool, decodeUnitParallel, type DecodePoolOptions } from './codec/decode-parallel.js';
export { InferenceEngine, DEFAULT_CONTEXT_TOKENS, DEFAULT_MAX_CHUNK_TOKENS, type EngineOptions, type ForwardOptions, type ForwardResult } from './runtime/engine.js';
export { generate, type GenerateOptions, type GenerationSummary, type StopReason } from './runtime/generate.js';
export { parseModelConfig, type ModelConfig, type ModelFamily, type RopeScaling } from './runtime/model-config.js';
export type { ModelFiles, Bf16ModelFiles, Df11ModelFiles, TensorSource as RuntimeTensorSource, Df11UnitInfo } from './runtime/model-files.js';
export type { EngineMode, WeightProvider, WeightRef, LayerMatrices, CommandRecorder } from './runtime/weights/weight-provider.js';
export { Sampler, type SamplingOptions } from './runtime/sampler.js';
export { Llama2cTokenizer } from './runtime/tokenizer-llama2c.js';
export type { TextTokenizer, StreamDecoder } from './runtime/tokenizer.js';
export { openModelDir, loadTokenizer, type OpenedModel } from './runtime/node/open-model.js';
export { HfTokenizer, specialTokenText, type HfTokenizerFiles } from './runtime/tokenizer-hf.js';
export { ChatTemplate, selectChatTemplate, PLAIN_CHAT_TEMPLATE, type ChatMessage, type ChatRole, type ChatRenderOptions } from './runtime/chat-template.js';
export { ChatSession, type ChatSessionOptions, type TurnOptions, type TurnSummary } from './runtime/chat-session.js';
export { loadHfTokenizer, loadChatTemplate, type ChatTemplateChoice } from './runtime/node/hf-tokenizer-files.js';
export type { ModelTokenizer } from './runtime/node/open-model.js';
export { initCodecWasm } from './codec/wasm/codec-wasm.js';
export { decodeUnitWasm, decodeChunksWasmInto, wasmDecoderAvailable } from './codec/wasm/decode-wasm.js';
export type { DecodeKernel } from './codec/wasm/chunk-kernel.js';
export type { EncodeKernel } from './codec/wasm/encode-wasm.js';
export { acquireGpu, describeAdapter, type AcquireGpuOptions, type GpuAdapterSummary, type GpuContext } from './gpu/device.js';
export { GpuDecoder, type GpuDecoderOptions } from './gpu/decoder.js';
export type { GpuUnit } from './gpu/gpu-unit.js';
