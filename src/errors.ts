/**
 * The one error type of df11. Every failure mode has a `code`; the message names the file and the
 * tensor (or unit) concerned whenever they are known, so a user can find the bad input.
 */
export type Df11ErrorCode =
  // safetensors container
  | 'io'
  | 'truncated-file'
  | 'header-too-large'
  | 'header-invalid-json'
  | 'header-invalid'
  | 'dtype-unknown'
  | 'shape-size-mismatch'
  | 'offsets-invalid'
  | 'tensor-not-found'
  | 'duplicate-tensor'
  // DF11 layout and config
  | 'config-invalid'
  | 'legacy-format'
  | 'unit-invalid'
  | 'unsupported-geometry'
  | 'pattern-mismatch'
  | 'not-bf16'
  // codec
  | 'exponent-unencodable'
  | 'ambiguous-limiter-tie'
  | 'too-many-lut-rows'
  | 'corrupt-lut-chain'
  | 'corrupt-zero-length'
  | 'stream-length-mismatch'
  | 'chunk-count-mismatch'
  | 'gap-mismatch'
  | 'checksum-mismatch'
  // gpu
  | 'no-adapter'
  | 'gpu-decode-error'
  | 'gpu-limit'
  // runtime
  | 'gpu-memory'
  | 'tokenizer-invalid'
  | 'chat-template-invalid'
  | 'generation'
  // cli
  | 'usage'
  | 'hub'
  | 'interrupted'
  | 'output-exists'
  | 'verify-failed';

export interface Df11ErrorContext {
  file?: string;
  tensor?: string;
  cause?: unknown;
}

export class Df11Error extends Error {
  override readonly name = 'Df11Error';
  readonly code: Df11ErrorCode;
  readonly file: string | undefined;
  readonly tensor: string | undefined;

  constructor(code: Df11ErrorCode, detail: string, context: Df11ErrorContext = {}) {
    const where = [context.file && `file ${context.file}`, context.tensor && `tensor ${context.tensor}`]
      .filter(Boolean)
      .join(', ');
    super(`${code}: ${detail}${where ? ` (${where})` : ''}`, context.cause === undefined ? undefined : { cause: context.cause });
    this.code = code;
    this.file = context.file;
    this.tensor = context.tensor;
  }

  /** The same error with a file and/or tensor name filled in where it was missing. */
  withContext(context: Df11ErrorContext): Df11Error {
    if ((context.file === undefined || this.file !== undefined) && (context.tensor === undefined || this.tensor !== undefined)) {
      return this;
    }
    const detail = this.message.replace(/^[a-z0-9-]+: /, '').replace(/ \((file|tensor) [^)]*\)$/, '');
    const e = new Df11Error(this.code, detail, {
      file: this.file ?? context.file,
      tensor: this.tensor ?? context.tensor,
      cause: this.cause,
    });
    e.stack = this.stack;
    return e;
  }
}
