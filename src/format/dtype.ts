// Element types a safetensors file may declare, and their sizes in bytes.
// The set is the one the safetensors format defines for the dtypes df11 reads and writes; a header
// naming any other dtype is rejected with `dtype-unknown`.

export type Dtype =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E4M3'
  | 'F8_E5M2'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'I64'
  | 'U64'
  | 'F64';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
});

/** True when `s` is one of the known dtype names (exact, case-sensitive; never a prototype key). */
export function isDtype(s: string): s is Dtype {
  return Object.hasOwn(DTYPE_BYTES, s);
}
