// Public entry point of the df11 library.
export { Df11Error, type Df11ErrorCode } from './errors.js';
export type { Df11Unit } from './codec/unit.js';
