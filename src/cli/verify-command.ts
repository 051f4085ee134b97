// `df11 verify`: decode every unit of a DF11 model and check it (structure, checksums, original).
import { Df11Error } from '../errors.js';
import { flagOption, positional, stringOption, threadsOption, THREADS_HELP } from './args.js';
import { EXIT_OK, type CliCommand, type CliContext, type CommandArgs } from './command.js';
import { openGpuUnitDecoder } from './unit-decoder.js';
import { verifyModel } from './verify-model.js';

export const verifyCommand: CliCommand = {
  name: 'verify',
  summary: 'decode every unit of a DF11 model and check it (structure, checksums, original)',
  usage: '<df11-dir> [--against <original>] [options]',
  help: `Arguments:
  <df11-dir>         a DF11 model folder (or single DF11 .safetensors file)

Options:
  --against <model>  the original BF16 model (folder or .safetensors file): every restored weight
                     and every uncompressed tensor is byte-compared with it, and every original
                     tensor must be present (an F32 original is compared through its BF16 cast)
${THREADS_HELP}
  --gpu              decode on the GPU through WebGPU (SwiftShader, a CPU fallback, where there is
                     no GPU) instead of the CPU threads

Every unit is checked structurally (dfloat11_config, the six tensors' dtypes and sizes, LUTs,
output_positions, gaps, split_positions) and decoded; decoding checks per-chunk counts and the
stream length. Units with a stored SHA-256 (written by df11 compress) are checked against it; files
without checksums (published DF11 models) are still checked for structure and decodability.
Exits with status 1 on any failure, naming the file and unit of each.`,
  options: {
    against: { type: 'string' },
    threads: { type: 'string' },
    gpu: { type: 'boolean' },
  },
  positionals: { min: 1, max: 1 },
  run: runVerify,
};

async function runVerify(args: CommandArgs, ctx: CliContext): Promise<number> {
  const path = positional(args, 0, '<df11-dir>');
  const against = stringOption(args, 'against');
  const decoder = flagOption(args, 'gpu') ? await openGpuUnitDecoder(ctx) : undefined;
  const progress = ctx.progress('verify', 0);
  let s;
  try {
    s = await verifyModel({
      path,
      ...(against !== undefined ? { against } : {}),
      threads: threadsOption(args, ctx.cpuCount),
      ...(decoder ? { decoder } : {}),
      progress,
      signal: ctx.signal,
      onFailure: (f) => progress.log(`FAIL ${f.file}: ${f.unit !== undefined ? `unit ${f.unit}` : `tensor ${f.tensor ?? '?'}`}: ${f.message}`),
    });
  } finally {
    progress.finish();
    await decoder?.close();
  }
  const checks = [`${s.units - s.structureOnly - countFailedUnits(s.failures)} of ${s.units} units verified by content`];
  checks.push(`${s.checksums} checksum(s) matched`);
  if (against !== undefined) checks.push(`${s.compared} tensor(s) compared with ${against}`);
  if (s.structureOnly > 0) checks.push(`${s.structureOnly} unit(s) without checksum: structure and decoding only`);
  if (s.failures.length > 0) {
    const units = countFailedUnits(s.failures);
    throw new Df11Error('verify-failed', `${s.failures.length} problem(s) in ${units} unit(s) and ${s.failures.length - s.failures.filter((f) => f.unit !== undefined).length} other tensor(s); see FAIL lines above`, { file: path });
  }
  ctx.stdout.write(`OK ${path}: ${s.units} units (${s.weights} weights) decoded in ${s.seconds.toFixed(1)} s; ${checks.join('; ')}\n`);
  return EXIT_OK;
}

function countFailedUnits(failures: readonly { unit: string | undefined }[]): number {
  return new Set(failures.flatMap((f) => (f.unit === undefined ? [] : [f.unit]))).size;
}
