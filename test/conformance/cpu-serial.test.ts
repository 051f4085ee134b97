// The serial oracle against the conformance suite (it reads neither gaps nor output_positions).
import { decodeUnit, decodeUnitInto } from '../../src/codec/decode-serial.js';
import { runDecoderConformance } from './suite.js';

runDecoderConformance('cpu-serial', (unit) => decodeUnit(unit), {
  decodeInto: (unit, out) => decodeUnitInto(unit, out),
  usesIndex: false,
});
