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
