// Runs every decode kernel variant of this folder on the same units: checks each bit for bit against
// the original weights (which the CPU oracle reproduces: verified on the first unit) and prints
// BF16-output GB/s. Variants share decode.wgsl's bindings (src/gpu/kernels/decode.wgsl).
// Build and run:  node scripts/embed-wgsl.mjs && npx tsc -p . --outDir dist-gpu
//                 node dist-gpu/dev/kernels/run.js [--units layer] [--variants v1,v2] [--workgroup-bytes 32768,16384]
// On a machine without a GPU: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json, --units tiny.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { decodeUnit } from '../../src/codec/decode-serial.js';
import { outputEndBytes } from '../../src/gpu/decode-plan.js';
import { GpuDecoder } from '../../src/gpu/decoder.js';
import type { DecodeKernelSource } from '../../src/gpu/decode-program.js';
import { acquireGpu, describeAdapter } from '../../src/gpu/device.js';
import { timePasses } from '../../src/gpu/gpu-bench.js';
import { llamaUnits } from '../../bench/gpu-units.js';
import { repoRoot } from '../../test/helpers/paths.js';

/** Workgroup bytes each variant uses besides its stage. */
/**
 * A variant is a file `decode-<name>.wgsl` (or a promoted kernel's file), or another variant's source
 * with `edits` applied (each `from` must occur exactly once): phase probes, which measure what one
 * phase costs and do not produce correct output, or the same source at another workgroup size (no
 * edits). This keeps no near-identical copies of a kernel.
 */
interface Variant {
  fixedWorkgroupBytes: number;
  usesSubgroups: boolean;
  persistent?: boolean;
  /** Invocations per workgroup (default 256). */
  workgroupSize?: number;
  note: string;
  /** The promoted variants live in the library: their source path, relative to the repository root. */
  file?: string;
  probeOf?: string;
  /**
   * Replacements in the base variant's source: `from` (text, or a pattern) must match exactly once,
   * or at least once for a pattern with the `g` flag (every match is replaced). `to` may be computed
   * (e.g. taken from another kernel's source).
   */
  edits?: [from: string | RegExp, to: string | (() => string)][];
  /** A structural rewrite applied after the edits. */
  transform?: 'persistent';
  /**
   * An indexed-kernel variant: the decoder runs with its output index, and this is its indexed kernel:
   * a file (relative to the repository root; default the library's decode-indexed.wgsl) with edits.
   */
  indexed?: { file?: string; base?: string; edits?: [from: string | RegExp, to: string | (() => string)][]; workgroupSize?: number };
}

/** v14 from the promoted v17: its sign_mantissa load behind a branch, its write loop one stage word deep. */
const V14_SM_WORD = `/** sign_mantissa word q of the binding, 0 outside it. */
fn sm_word(q: i32) -> u32 {
  if (q < 0 || u32(q) >= arrayLength(&sm)) { return 0u; }
  return sm[u32(q)];
}

`;
const V14_WRITE = `    // Write: 2 output words (one 8-byte store) per stage word.
    for (var i = lid; i < STAGE_WORDS; i += WG) {
      let h4 = lo + 4u * i;
      if (h4 >= 2u * w_end) { break; }
      let q = (sm_rel + i32(h4)) >> 2u;
      let a = sm_word(q);
      let c = select(0u, sm_word(q + 1), sm_shift != 0u);
      let sm4 = select((a >> sm_shift) | (c << (32u - sm_shift)), a, sm_shift == 0u);
      let ex = atomicLoad(&stage[i]);
      store_pair(h4, pack2(sm4, ex), pack2(sm4 >> 16u, ex >> 16u), e_base + i32(h4), w_start, w_end);
    }
  }
}
`;

const V5_STORES = `      store_word(h4 >> 1u, pack2(sm4, ex), e4, w_start, w_end);
      store_word((h4 >> 1u) + 1u, pack2(sm4 >> 16u, ex >> 16u), e4 + 2, w_start, w_end);`;
const V5_PASS_2 = '      stage_two(&SA, &SB, my_h, mine_a, my_h + mine_a, mine - mine_a, lo);';
const V5_PASS_1 = `  count_two(&A, &B, NO_LIMIT, NO_LIMIT);
  let count_a = A.count;
  let count = A.count + B.count;`;
const V5_FAKE_COUNTS = `  let count_a = (t - s) / 512u + select(0u, 1u, 2u * lid < (t - s) % 512u);
  let count = (t - s) / 256u + select(0u, 1u, lid < (t - s) % 256u);
  A.k = 2u; B.k = 2u;`;
const V5_NO_STORES = '      if (sm4 == 0x12345678u && ex == 0x9abcdefu) { store_word(h4 >> 1u, 0u, e4, w_start, w_end); }';
const V5_NO_PASS_2 = '      _ = SA; _ = SB;';
const V5_COUNT = '  let count = A.count + B.count;\n';
const V5_SETUP_ONLY = `${V5_COUNT}  if (lid == 0u && A.r == 12345u) { out[0] = w0 ^ w4 ^ g ^ gb; }
  if (wg.x < 100000u) { return; }
`;

const V9_ENTRY = '  if (t < s || t > n || t - s > MAX_CHUNK_ELEMENTS) {';
const V9_SETUP_ONLY = `  if (lid == 0u && (ws[0] ^ ws[2] ^ gs[0] ^ gs[1]) == 0x12345u) { out[0] = t - s; }
  if (wg.x < 0xffffffu) { return; }
${V9_ENTRY}`;
const V9_SCANNED = '  let my_e = s + before;\n';
const V9_PASS_1_ONLY = `${V9_SCANNED}  if (lid == 0u && (my_e ^ sma[0] ^ smb[1]) == 0x12345u) { out[0] = total; }
  if (wg.x < 0xffffffu) { return; }
`;
const V9_STORES = `        store_word(h4 >> 1u, pack2(sm4, ex), e4, w_start, w_end);
        store_word((h4 >> 1u) + 1u, pack2(sm4 >> 16u, ex >> 16u), e4 + 2, w_start, w_end);
      }
    }`;
const V9_NO_STORES = `        if ((sm4 ^ ex) == 0x9abcdefu) { store_word(h4 >> 1u, 0u, e4, w_start, w_end); }
      }
    }`;

/** The text of the promoted kernel from the line starting `from` up to (not including) `to`. */
function promotedPiece(from: string, to: string): string {
  const code = readFileSync(join(repoRoot(), 'src', 'gpu', 'kernels', 'decode.wgsl'), 'utf8');
  const a = code.indexOf(from);
  const b = code.indexOf(to, a);
  if (a < 0 || b < 0) throw new Error(`the promoted kernel no longer has ${from} ... ${to}`);
  return code.slice(a, b);
}

const V7_HEADER = `// decode-v7: v5 with no decode tables in workgroup memory: the multi-symbol and combined root tables
// (built on the host, in the \`luts\` binding) are read through the L1 cache. Workgroup memory holds
// only the exponent stage (~13 KB for a whole chunk) and the scan's subgroup sums, so more
// workgroups fit per SM (NVIDIA's Vulkan driver gave about 56 KB per SM: see probe-occupancy.ts).
`;
const V10_HEADER = `// decode-v10: v9 with every per-window loop given a constant trip count (so the window arrays can
// live in registers once the driver specialises WG), and the write phase storing whole 8-byte pairs
// of output words (one vec2 store per 4 elements; single u32 components only at the chunk's edges).
// Bindings, Params and invariants: as src/gpu/kernels/decode.wgsl (v3); \`out\` is viewed as vec2<u32>
// (the binding starts 256-byte aligned, so pair q holds output words 2q and 2q+1).
`;
const V12_NARROW_LOOKUP = `    let m = luts[MULTI_BASE + (x >> (32u - MULTI_BITS))];
    let mn = (m >> MULTI_COUNT_SHIFT) & 3u;
    let mb = m >> MULTI_BITS_SHIFT;
    if (mn != 0u && pos + mb <= WINDOW_BITS) {
      stash_push(st, m & 0xffffffu, mn);
      r += mb;
      count += mn;
`;
const V15_HELPERS = `/** The sign_mantissa word(s) of stage word i (the second only when the bytes are not word-aligned). */
fn sm_words2(lo: u32, i: u32, w_end: u32, sm_rel: i32, sm_shift: u32) -> vec2<u32> {
  let h4 = lo + 4u * i;
  if (i >= STAGE_WORDS || h4 >= 2u * w_end) { return vec2<u32>(0u, 0u); }
  let q = (sm_rel + i32(h4)) >> 2u;
  return vec2<u32>(sm_word(q), select(0u, sm_word(q + 1), sm_shift != 0u));
}

fn write_stage_word(lo: u32, i: u32, smw: vec2<u32>, sm_shift: u32, e_base: i32, w_start: u32, w_end: u32) {
  let h4 = lo + 4u * i;
  let sm4 = select((smw.x >> sm_shift) | (smw.y << (32u - sm_shift)), smw.x, sm_shift == 0u);
  let ex = atomicLoad(&stage[i]);
  store_pair(h4, pack2(sm4, ex), pack2(sm4 >> 16u, ex >> 16u), e_base + i32(h4), w_start, w_end);
}

`;
const V15_PRELOAD = `    // The first two sign_mantissa words of this invocation's write phase, loaded now.
    let pre = sm_words2(lo, lid, w_end, sm_rel, sm_shift);
    let pre1 = sm_words2(lo, lid + WG, w_end, sm_rel, sm_shift);
`;
const V15_WRITE = `    // Write: two stage words per step, the first step's sign_mantissa words loaded before pass 2.
    for (var i = lid; i < STAGE_WORDS; i += 2u * WG) {
      if (lo + 4u * i >= 2u * w_end) { break; }
      let i1 = i + WG;
      var s0 = pre;
      var s1 = pre1;
      if (i != lid) {
        s0 = sm_words2(lo, i, w_end, sm_rel, sm_shift);
        s1 = sm_words2(lo, i1, w_end, sm_rel, sm_shift);
      }
      write_stage_word(lo, i, s0, sm_shift, e_base, w_start, w_end);
      if (i1 < STAGE_WORDS && lo + 4u * i1 < 2u * w_end) {
        write_stage_word(lo, i1, s1, sm_shift, e_base, w_start, w_end);
      }
    }
  }
}
`;

/** Fields shared by the indexed variants (their chunk kernel, which builds the index, is v17). */
const IX = { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 512, probeOf: 'v17', edits: [] };
const IX_FILE = 'dev/kernels/decode-ix.wgsl';
const IX_LOOP = 'for (var it = 0u; it < G + 2u; it++) {';
const IX_LOOP_DYNAMIC = 'for (var it = 0u; it < n_el + 2u; it++) {';

const IXS2_FILE = 'dev/kernels/decode-ixs2.wgsl';
/** ixs2's write phase (sign_mantissa loaded before the barrier), up to the end of main. */
const IXS2_WRITE = /  \/\/ The workgroup's output:[^]*(?=\}\n$)/;
/** ixs's: the barrier, then each output vector reads its half of a 16-byte sign_mantissa vector. */
const IXS_WRITE = `  workgroupBarrier();
  // The workgroup's output: groups j0 .. j0 + WG - 1 of the dispatch, as consecutive vectors.
  let first_el = (params.group_base + j0) * G;
  if (first_el >= params.elements || j0 >= params.group_count) { return; }
  let el_end = min(min(params.elements, (params.group_base + params.group_count) * G), first_el + WG * G);
  let out0 = params.out_vec_first + j0 * (G / select(8u, 16u, EXPONENT_PLANE));
  if (EXPONENT_PLANE) {
    let vecs = (el_end - first_el + 15u) / 16u;
    for (var v = lid; v < vecs; v += WG) {
      let t = v >> 2u;            // group in the workgroup (4 vectors each)
      let s0 = t * ROW + (v & 3u) * 4u;
      let val = vec4<u32>(stage[s0], stage[s0 + 1u], stage[s0 + 2u], stage[s0 + 3u]);
      store_vec(out0 + v, val, min(el_end - (first_el + 16u * v), 16u));
    }
  } else {
    let vecs = (el_end - first_el + 7u) / 8u;
    let smq = (first_el >> 4u) - params.sm_vec_base;
    for (var v = lid; v < vecs; v += WG) {
      let t = v >> 3u;            // group in the workgroup (8 vectors each)
      let s0 = t * ROW + (v & 7u) * 2u;
      let w0 = stage[s0];
      let w1 = stage[s0 + 1u];
      let smv = sm[smq + (v >> 1u)];
      let sa = select(smv.x, smv.z, (v & 1u) != 0u);
      let sb = select(smv.y, smv.w, (v & 1u) != 0u);
      let val = vec4<u32>(pack2(sa, w0), pack2(sa >> 16u, w0 >> 16u), pack2(sb, w1), pack2(sb >> 16u, w1 >> 16u));
      store_vec(out0 + v, val, 2u * min(el_end - (first_el + 8u * v), 8u));
    }
  }
`;
/** The indexed kernel's whole-lookup loops (unrolled, then single), up to its tail loop. */
const IXS3U_MAIN = /  \/\/ Main loop: at least 4 codes left[^]*?(?=  \/\/ Tail:)/;
/** ixs3's main loop: the promoted kernel's single-lookup loop alone. */
function ixs3Main(): string {
  const code = readFileSync(join(repoRoot(), 'src', 'gpu', 'kernels', 'decode-indexed.wgsl'), 'utf8');
  const head = '  loop {\n    if (done + 4u > n_el || error != 0u) { break; }\n';
  const a = code.indexOf(head);
  const b = code.indexOf('  // Tail:', a);
  if (a < 0 || b < 0) throw new Error('the indexed kernel no longer has its single-lookup loop');
  return `  // Main loop: at least 4 codes left, so every lookup takes all of its codes.\n${code.slice(a, b)}`;
}
const IXS3_SM_PREFETCH = 'smv[k] = select(vec2<u32>(), sm[smq + min(v, max(vecs, 1u) - 1u)], v < vecs);';
const IXS3_SM_PREFETCH_4 = 'if (k < 4u) { smv[k] = select(vec2<u32>(), sm[smq + min(v, max(vecs, 1u) - 1u)], v < vecs); }';
const IXS3_SM_USE = '      let m = smv[k];';
const IXS3_SM_USE_4 = '      var m = smv[k & 3u];\n      if (k >= 4u) { m = sm[smq + v]; }';

const IXS3U_PACK = 'let val = vec4<u32>(pack2(m.x, e0w), pack2(m.x >> 16u, e0w >> 16u), pack2(m.y, e1w), pack2(m.y >> 16u, e1w >> 16u));';
const IXS3U_PACK4 = 'let val = vec4<u32>(pack4(m.x, e0w), pack4(m.y, e1w));';
const IXS3U_PACK_FN = '/** Two BF16 values (low half first) from two sign_mantissa bytes and two exponent bytes. */';
const IXS3U_PACK4_FN = `/** Four BF16 values (two words) from 4 sign_mantissa bytes and 4 exponent bytes. */
fn pack4(s4: u32, e4: u32) -> vec2<u32> {
  let hi = (s4 & 0x80808080u) | ((e4 >> 1u) & 0x7f7f7f7fu);
  let lo = (s4 & 0x7f7f7f7fu) | ((e4 & 0x01010101u) << 7u);
  let w0 = (lo & 0xffu) | ((hi & 0xffu) << 8u) | ((lo & 0xff00u) << 8u) | ((hi & 0xff00u) << 16u);
  let w1 = ((lo >> 16u) & 0xffu) | ((hi >> 8u) & 0xff00u) | ((lo >> 8u) & 0xff0000u) | (hi & 0xff000000u);
  return vec2<u32>(w0, w1);
}

`;
const IXS3U_OUT0 = '  let out0 = params.out_vec_first + j0 * (G / select(8u, 16u, EXPONENT_PLANE));';
const IXS3U_OUT0_WHOLE = `${IXS3U_OUT0}\n  let whole_wg = el_end == first_el + WG * G && out0 + WG * G / 8u <= arrayLength(&out);`;
const IXS3U_STORE = '      store_vec(out0 + v, val, 2u * min(el_end - (first_el + 8u * v), 8u));';
const IXS3U_STORE_FAST = `      if (whole_wg) {
        out[out0 + v] = val;
      } else {
        store_vec(out0 + v, val, 2u * min(el_end - (first_el + 8u * v), 8u));
      }`;

export const VARIANTS: Record<string, Variant> = {
  v1: { fixedWorkgroupBytes: 18 * 256 + 256 * 4, usesSubgroups: false, note: 'two passes, nested loops, Hillis-Steele scan', file: 'src/gpu/kernels/decode-portable.wgsl' },
  v2: { fixedWorkgroupBytes: 18 * 256 + 256 * 4 + 64 * 4, usesSubgroups: true, note: 'flat loops, combined root table, subgroup scan' },
  v3: { fixedWorkgroupBytes: 18 * 256 + 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v2 + 10-bit multi-symbol table' },
  v5: { fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v3 + two lockstep chains per invocation, raw LUT rows in global memory' },
  v6: { fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, persistent: true, note: 'v5, persistent workgroups, next chunk prefetched' },
  v7: {
    fixedWorkgroupBytes: 64 * 4,
    usesSubgroups: true,
    note: 'v5 with the decode tables read through L1 (stage only in workgroup memory)',
    probeOf: 'v5',
    edits: [
      [/^\/\/ decode-v5:[^]*?(?=\/\/ Requires)/, V7_HEADER],
      ['// Bindings, workgroup shape and invariants:', '// Bindings and invariants:'],
      ['var<workgroup> root: array<u32, 256>;\nvar<workgroup> multi: array<u32, MULTI_ENTRIES>;\n', ''],
      ['// word offset of the multi-symbol table in `luts`\n', '// word offset of the multi-symbol table in `luts`\nconst ROOT_BASE: u32 = 2176u;       // word offset of the combined root table in `luts`\n'],
      ['  let c = root[x >> 24u];', '  let c = luts[ROOT_BASE + (x >> 24u)];'],
      [/multi\[x >> \(32u - MULTI_BITS\)\]/g, 'luts[MULTI_BASE + (x >> (32u - MULTI_BITS))]'],
      [/  \{\n    let v = lut_byte\(lid\);[^]*?multi\[i\] = luts\[MULTI_BASE \+ i\];\n  \}\n  workgroupBarrier\(\);\n/, ''],
    ],
  },
  v8: { fixedWorkgroupBytes: 18 * 256 + 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v3 with all global loads first and the host-built root table' },
  v5l1: { fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v5 phase probe: no output stores', probeOf: 'v5', edits: [[V5_STORES, V5_NO_STORES]] },
  v5l2: { fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v5 phase probe: no pass 2', probeOf: 'v5', edits: [[V5_PASS_2, V5_NO_PASS_2]] },
  v5l3: {
    fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4,
    usesSubgroups: true,
    note: 'v5 phase probe: no pass 1 (counts faked), no pass 2',
    probeOf: 'v5',
    edits: [[V5_PASS_1, V5_FAKE_COUNTS], [V5_PASS_2, V5_NO_PASS_2]],
  },
  v5l4: { fixedWorkgroupBytes: 256 * 4 + 64 * 4 + 1024 * 4, usesSubgroups: true, note: 'v5 phase probe: setup only', probeOf: 'v5', edits: [[V5_COUNT, V5_SETUP_ONLY]] },
  v4: { fixedWorkgroupBytes: 0, usesSubgroups: true, note: 'no stage: direct writes, ~7 KB of tables' },
  v9: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 512, note: '512 x 1 window, tables through L1, loads issued at entry, sign_mantissa prefetched' },
  v9p0: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 512, note: 'v9 phase probe: entry loads only', probeOf: 'v9', edits: [[V9_ENTRY, V9_SETUP_ONLY]] },
  v9p1: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 512, note: 'v9 phase probe: loads, sign_mantissa prefetch, pass 1, scan', probeOf: 'v9', edits: [[V9_SCANNED, V9_PASS_1_ONLY]] },
  v9p2: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 512, note: 'v9 phase probe: no output stores', probeOf: 'v9', edits: [[V9_STORES, V9_NO_STORES]] },
  v10: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'v9 + constant-trip window loops, 8-byte output stores',
    probeOf: 'v9',
    edits: [
      [/^\/\/ decode-v9:[^]*?(?=enable subgroups;)/, V10_HEADER],
      ['var<storage, read_write> out: array<u32>;', 'var<storage, read_write> out: array<vec2<u32>>;'],
      [/fn store_word\([^]*?(?=struct Walk \{)/, () => promotedPiece('fn store_word(', 'struct Walk {')],
      ['for (var k = 0u; k <= wpi; k++) { gs[k] = gap_at(t_win + k); }', 'for (var k = 0u; k < 3u; k++) { if (k <= wpi) { gs[k] = gap_at(t_win + k); } }'],
      ['for (var k = 0u; k <= 2u * wpi; k++) { ws[k] = enc_word(base + k); }', 'for (var k = 0u; k < 5u; k++) { if (k <= 2u * wpi) { ws[k] = enc_word(base + k); } }'],
      [/for \(var k = 0u; k < wpi; k\+\+\) \{/g, 'for (var k = 0u; k < 2u; k++) { if (k >= wpi) { break; }'],
      [
        /store_word\(h4 >> 1u, pack2\(sm4, ex\), e4, w_start, w_end\);\n *store_word\(\(h4 >> 1u\) \+ 1u, pack2\(sm4 >> 16u, ex >> 16u\), e4 \+ 2, w_start, w_end\);/g,
        'store_pair(h4, pack2(sm4, ex), pack2(sm4 >> 16u, ex >> 16u), e4, w_start, w_end);',
      ],
    ],
  },
  v10h: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 256, note: 'v10 at 256 x 2 windows', probeOf: 'v10', edits: [] },
  v10n: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'v10 without the sign_mantissa prefetch (loaded in the write phase)',
    probeOf: 'v10',
    edits: [
      ['    if (i < STAGE_WORDS && h4 < 2u * w_end) {\n      let q = (sm_rel', '    if (false) {\n      let q = (sm_rel'],
      ['        if (round > 0u) {\n          a = sm_word(q);', '        if (true) {\n          a = sm_word(q);'],
    ],
  },
  v11: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'v10n as first promoted (that file had the disabled prefetch deleted; same kernel)',
    probeOf: 'v10n',
    edits: [],
  },
  v12: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'v11 decoding each code once (register stash); pass 1 on the 10-bit table',
    probeOf: 'v14',
    edits: [
      [/const WIDE_BASE[^]*?\(wide table\)\. \*\//, "/** count_codes without a limit, appending every counted code's exponent to the stash. */"],
      [/    let i = WIDE_BASE[^]*?(?=    \} else \{)/, V12_NARROW_LOOKUP],
    ],
  },
  v12h: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 256, note: 'v12 at 256 x 2 windows', probeOf: 'v12', edits: [] },
  v14: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'v12 with pass 1 on a 12-bit table (4 exponents, code starts)',
    probeOf: 'v17',
    edits: [
      [/\/\*\*\n \* sign_mantissa word q of the binding[^]*?(?=fn pack2)/, V14_SM_WORD],
      ['/** Stage words per invocation whose sign_mantissa words the write loop loads at once. */\nconst WRITE_UNROLL: u32 = 4u;\n', ''],
      [/    \/\/ Write: 2 output words[^]*$/, V14_WRITE],
      ['the fast kernel (variant v17 of dev/kernels;', 'the fast kernel (variant v14 of dev/kernels;'],
      [', loading the sign_mantissa words of WRITE_UNROLL stage words\n// before it uses any.\n', '.\n'],
    ],
  },
  v14h: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 256, note: 'v14 at 256 x 2 windows', probeOf: 'v14', edits: [] },
  v15: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'v14 with sign_mantissa loads issued before staging, write loop 2 words per step',
    probeOf: 'v14',
    edits: [
      ['@compute @workgroup_size(WG)', `${V15_HELPERS}@compute @workgroup_size(WG)`],
      ['    // Pass 2: the stash when it holds', `${V15_PRELOAD}    // Pass 2: the stash when it holds`],
      [/    \/\/ Write: 2 output words[^]*$/, V15_WRITE],
    ],
  },
  v15h: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 256, note: 'v15 at 256 x 2 windows', probeOf: 'v15', edits: [] },
  v16: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'v14 with `luts` as a fixed-size array (cheaper bounds clamping)',
    probeOf: 'v14',
    edits: [['var<storage, read> luts: array<u32>;', 'var<storage, read> luts: array<u32, 10624>;']],
  },
  v17: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'v14 with the write loop 4 stage words deep and sign_mantissa loads not behind a branch; promoted',
    file: 'src/gpu/kernels/decode.wgsl',
  },
  v17h: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 256, note: 'v17 at 256 x 2 windows', file: 'src/gpu/kernels/decode.wgsl' },
  v18: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 512, note: 'v17 with the write loop 8 stage words deep', probeOf: 'v17', edits: [['const WRITE_UNROLL: u32 = 4u;', 'const WRITE_UNROLL: u32 = 8u;']] },
  v19: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 512, note: 'v17 with the write loop 2 stage words deep', probeOf: 'v17', edits: [['const WRITE_UNROLL: u32 = 4u;', 'const WRITE_UNROLL: u32 = 2u;']] },
  v20: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'v17 with `luts` viewed as vec2<u32>: a wide-table entry (exponents, info) is one 8-byte load',
    probeOf: 'v17',
    edits: [
      ['luts[i >> 2u]', 'lut(i >> 2u)'],
      ['luts[ROOT_BASE + (x >> 24u)]', 'lut(ROOT_BASE + (x >> 24u))'],
      [/luts\[MULTI_BASE \+ \(x >> \(32u - MULTI_BITS\)\)\]/g, 'lut(MULTI_BASE + (x >> (32u - MULTI_BITS)))'],
      ['    let info = luts[i + 1u];', '    let entry = luts[i >> 1u];\n    let info = entry.y;'],
      ['      let ex = luts[i];', '      let ex = entry.x;'],
      ['var<storage, read> luts: array<u32>;', 'var<storage, read> luts: array<vec2<u32>>;\n\nfn lut(i: u32) -> u32 { return luts[i >> 1u][i & 1u]; }'],
    ],
  },
  // Phase probes of v17 (output correct, work added or a store made conditional): each says how
  // sensitive the kernel is to one resource.
  v17g: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'probe: v17 with one more scattered table load per pass-1 lookup (L1 gather throughput)',
    probeOf: 'v17',
    edits: [['      let ex = luts[i];', '      let ex = luts[i] | (luts[i ^ 0x1001u] & (params.stream_bytes >> 31u));']],
  },
  v17a: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'probe: v17 with ~24 more integer instructions per pass-1 lookup (issue slots)',
    probeOf: 'v17',
    edits: [
      [
        '      let ex = luts[i];',
        `      var z = x;
      for (var j = 0u; j < 8u; j++) { z = (z * 0x9e3779b1u) ^ (z >> 15u); z += j; }
      let ex = luts[i] | (z & (params.stream_bytes >> 31u));`,
      ],
    ],
  },
  v17w: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'probe: v17 without its 8-byte output stores (output wrong: measures the stores)',
    probeOf: 'v17',
    edits: [['    out[q] = vec2<u32>(v0, v1);', '    if (v0 == 0x12345678u && v1 == params.stream_bytes) { out[q] = vec2<u32>(v0, v1); }']],
  },
  v17L: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'probe: v17 with each pass-1 table load made twice, the second after the first (load latency)',
    probeOf: 'v17',
    edits: [['    let info = luts[i + 1u];', '    let info0 = luts[i + 1u];\n    let info = luts[i + 1u + (info0 & (params.stream_bytes >> 31u))];']],
  },
  v17p0: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'probe: v17 stopping after its entry loads (output wrong)',
    probeOf: 'v17',
    edits: [[
      '  if (t < s || t > n || t - s > MAX_CHUNK_ELEMENTS) {',
      `  if (params.stream_bytes != NO_LIMIT) {
    if (gs[0] + gs[1] + ws[0] + ws[1] + ws[2] + s + t == 0x12345u) { flag(64u, b); }
    return;
  }
  if (t < s || t > n || t - s > MAX_CHUNK_ELEMENTS) {`,
    ]],
  },
  v17p1: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'probe: v17 stopping after pass 1, the scan and the checks (output wrong)',
    probeOf: 'v17',
    edits: [[
      '  if (rounds == 0u) { return; }',
      `  if (params.stream_bytes != NO_LIMIT) {
    if (st.acc + st.w[0] + st.w[3] + st.w[7] + st.n + total == 0x12345u) { flag(64u, b); }
    return;
  }
  if (rounds == 0u) { return; }`,
    ]],
  },
  v17p2: {
    fixedWorkgroupBytes: 128 * 4,
    usesSubgroups: true,
    workgroupSize: 512,
    note: 'probe: v17 without its write phase (output wrong)',
    probeOf: 'v17',
    edits: [[
      /    \/\/ Write: 2 output words[^]*?(?=\n  \}\n\}\n$)/,
      `    if (atomicLoad(&stage[lid]) == 0x12345678u) { flag(64u, b); }`,
    ]],
  },
  // The indexed kernel (src/gpu/kernels/decode-indexed.wgsl), through the decoder's default path: the
  // index is built at upload by v17 (INDEX_OUTPUT) and not timed.
  ix: { ...IX, note: 'first indexed kernel: one invocation per 64 output elements from a load-time index, each writing its own vectors (dev/kernels/decode-ix.wgsl)', indexed: { file: IX_FILE } },
  ixL: { ...IX, note: 'ix with its loop bounded by the group size read at run time (no unrolling)', indexed: { file: IX_FILE, edits: [[IX_LOOP, IX_LOOP_DYNAMIC]] } },
  ixP: {
    ...IX,
    note: 'ixL with the next sign_mantissa vector loaded one vector ahead',
    indexed: {
      file: IX_FILE,
      edits: [
        [IX_LOOP, `var sm_next = vec4<u32>();
  if (!EXPONENT_PLANE) { sm_next = sm[(e0 >> 4u) - params.sm_vec_base]; }
${IX_LOOP_DYNAMIC}`],
        ['if (m == 0u) { smv = sm[(e0 >> 4u) - params.sm_vec_base + (emitted >> 2u)]; }', 'if (m == 0u) { smv = sm_next; sm_next = sm[(e0 >> 4u) - params.sm_vec_base + (emitted >> 2u) + 1u]; }'],
      ],
    },
  },
  ixs: {
    ...IX,
    note: 'indexed kernel writing through a workgroup stage: coalesced vectors (ixs2 with its former write phase)',
    indexed: { base: 'ixs2', edits: [[IXS2_WRITE, IXS_WRITE], ['var<storage, read> sm: array<vec2<u32>>;', 'var<storage, read> sm: array<vec4<u32>>;']] },
  },
  ixs2: { ...IX, note: 'ixs with the write phase\'s sign_mantissa loads issued before the barrier, 8-byte sm vectors (dev/kernels/decode-ixs2.wgsl)', indexed: { file: IXS2_FILE } },
  ixs2v: {
    ...IX,
    note: 'ixs2 with `luts` viewed as vec2<u32>: a wide-table entry is one 8-byte load',
    indexed: {
      file: IXS2_FILE,
      edits: [
        ['@group(0) @binding(1) var<storage, read> luts: array<u32>;', '@group(0) @binding(1) var<storage, read> luts: array<vec2<u32>>;\n\nfn lut(i: u32) -> u32 { return luts[i >> 1u][i & 1u]; }'],
        ['luts[i >> 2u]', 'lut(i >> 2u)'],
        ['luts[ROOT_BASE + (x >> 24u)]', 'lut(ROOT_BASE + (x >> 24u))'],
        ['      let info = luts[i + 1u];', '      let entry = luts[i >> 1u];\n      let info = entry.y;'],
        ['ex = luts[i] & ', 'ex = entry.x & '],
      ],
    },
  },
  ixs3: { ...IX, note: 'ixs2v with the decode loop split: 4+ codes left (every lookup taken whole), then the last codes (the promoted kernel without its unroll)', indexed: { edits: [[IXS3U_MAIN, ixs3Main]] } },
  ixs3a: {
    ...IX,
    note: 'probe: ixs3 with ~24 more integer instructions per main-loop lookup (issue slots)',
    indexed: {
      base: 'ixs3',
      edits: [['    var ex = entry.x;\n    if (take == 0u) {', '    var z = x;\n    for (var j = 0u; j < 8u; j++) { z = (z * 0x9e3779b1u) ^ (z >> 15u); z += j; }\n    var ex = entry.x | (z & (params.stream_bytes >> 31u));\n    if (take == 0u) {']],
    },
  },
  ixs3u: { ...IX, note: 'ixs3 with its main loop unrolled twice (one loop test per 2 lookups while 8+ codes are left): the promoted src/gpu/kernels/decode-indexed.wgsl', indexed: {} },
  ixs3m: { ...IX, note: 'ixs3 loading only the first 4 of its 8 sign_mantissa vectors before the barrier (fewer live registers)', indexed: { base: 'ixs3', edits: [[IXS3_SM_PREFETCH, IXS3_SM_PREFETCH_4], [IXS3_SM_USE, IXS3_SM_USE_4]] } },
  ixs3u32: { ...IX, note: 'ixs3u at 32 invocations per workgroup', indexed: { workgroupSize: 32 } },
  ixs3u64: { ...IX, note: 'ixs3u at 64 invocations per workgroup (the promoted default)', indexed: { workgroupSize: 64 } },
  ixs3u128: { ...IX, note: 'ixs3u at 128 invocations per workgroup (the size it was first measured at)', indexed: { workgroupSize: 128 } },
  ixs3u256: { ...IX, note: 'ixs3u at 256 invocations per workgroup', indexed: { workgroupSize: 256 } },
  ixs3uw: {
    ...IX,
    note: 'probe: ixs3u without its whole-vector output stores (output wrong)',
    indexed: { edits: [['    out[q] = v;\n    return;', '    if (v.x == 0x12345678u && v.y == params.stream_bytes) { out[q] = v; }\n    return;']] },
  },
  ixs3p: {
    ...IX,
    note: 'ixs3u building 4 BF16 values at once: high and low bytes of all 4 (sign | e >> 1, (e & 1) << 7 | mantissa), then interleaved',
    indexed: { edits: [[IXS3U_PACK, IXS3U_PACK4], [IXS3U_PACK_FN, `${IXS3U_PACK4_FN}${IXS3U_PACK_FN}`]] },
  },
  ixs3f: {
    ...IX,
    note: 'ixs3u storing whole vectors without checks where the workgroup\'s output is whole',
    indexed: { edits: [[IXS3U_STORE, IXS3U_STORE_FAST], [IXS3U_OUT0, IXS3U_OUT0_WHOLE]] },
  },
  ixs3pf: {
    ...IX,
    note: 'ixs3p and ixs3f together',
    indexed: { edits: [[IXS3U_PACK, IXS3U_PACK4], [IXS3U_PACK_FN, `${IXS3U_PACK4_FN}${IXS3U_PACK_FN}`], [IXS3U_STORE, IXS3U_STORE_FAST], [IXS3U_OUT0, IXS3U_OUT0_WHOLE]] },
  },
  ixs3o: {
    ...IX,
    note: 'ixs3u with ~2 instructions fewer per lookup: the carried-over exponents by a double shift instead of a select, a running stage slot',
    indexed: {
      edits: [
        [/phi = select\(0u, ex >> \(32u - sh\), np != 0u\);/g, 'phi = (ex >> 1u) >> (31u - sh);'],
        [/stage\[row \+ emitted\]/g, 'stage[slot]'],
        [/emitted \+= 1u;/g, 'slot += 1u;'],
        ['  var emitted = 0u;', '  var slot = lid * ROW;'],
        ['  let row = lid * ROW;\n', ''],
      ],
    },
  },
  ixw: {
    ...IX,
    note: 'probe: ixL without its output stores (output wrong)',
    indexed: { file: IX_FILE, edits: [[IX_LOOP, IX_LOOP_DYNAMIC], ['    out[q] = v;\n    return;', '    if (v.x == 0x12345678u && v.y == params.stream_bytes) { out[q] = v; }\n    return;']] },
  },
  v13: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 512, persistent: true, note: 'v12 with persistent workgroups (grid stride over chunks)', probeOf: 'v12', transform: 'persistent' },
  v13h: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 256, persistent: true, note: 'v13 at 256 x 2 windows', probeOf: 'v13', edits: [] },
  v9h: { fixedWorkgroupBytes: 128 * 4, usesSubgroups: true, workgroupSize: 256, note: 'v9 at 256 x 2 windows', probeOf: 'v9', edits: [] },
};

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const STORAGE = 0x80;

async function main(): Promise<void> {
  const names = arg('units', 'layer').split(',');
  const variants = arg('variants', Object.keys(VARIANTS).join(',')).split(',');
  const budgets = arg('workgroup-bytes', '32768').split(',').map(Number);
  const iterations = Number(arg('iterations', '10'));
  const repeats = Number(arg('repeats', '5'));
  const showSamples = process.argv.includes('--samples');
  // --exponents: time the exponent-plane output (GB/s still counts 2 bytes per weight: BF16-equivalent)
  const exponents = process.argv.includes('--exponents');
  const dawn = arg('dawn', '');
  const ctx = await acquireGpu({ dawnOptions: dawn ? [dawn] : [] });
  const { device } = ctx;
  console.log(`adapter: ${describeAdapter(ctx.adapter)}${dawn ? `; dawn: ${dawn}` : ''}`);
  const units = await llamaUnits(names);
  const first = units[0]!;
  const oracle = decodeUnit(first.unit);
  if (oracle.some((v, i) => v !== first.weights[i])) throw new Error('the oracle does not reproduce the weights');
  const rows: string[] = [];
  for (const v of variants) {
    const spec = VARIANTS[v];
    if (!spec) throw new Error(`unknown variant ${v}`);
    if (spec.usesSubgroups && !ctx.features.has('subgroups')) {
      rows.push(`${v.padEnd(4)} (needs subgroups)`);
      continue;
    }
    const code = variantSource(v, spec);
    if (exponents && !code.includes('override EXPONENT_PLANE')) {
      rows.push(`${v.padEnd(4)} (no exponent plane)`);
      continue;
    }
    const wg = Number(arg('workgroup-size', String(spec.workgroupSize ?? 0))) || undefined;
    const kernel: DecodeKernelSource = {
      name: v,
      code,
      exponentPlane: code.includes('override EXPONENT_PLANE'),
      buildsIndex: code.includes('override INDEX_OUTPUT'),
      fixedWorkgroupBytes: spec.fixedWorkgroupBytes,
      usesSubgroups: spec.usesSubgroups,
      ...(wg ? { workgroupSize: wg, constants: { WG: wg } } : {}),
      ...(spec.persistent ? { persistentWorkgroups: Number(arg('persistent', '1024')) } : {}),
    };
    for (const budget of budgets) {
      const indexedCode = spec.indexed ? indexedSource(v, spec.indexed) : undefined;
      const decoder = await GpuDecoder.create(device, {
        kernel,
        workgroupStorageBytes: budget,
        indexed: spec.indexed !== undefined,
        ...(indexedCode ? { indexedCode } : {}),
        ...(spec.indexed?.workgroupSize ? { indexedWorkgroupSize: spec.indexed.workgroupSize } : {}),
      });
      for (const { name, weights, unit } of units) {
        const g = decoder.upload(unit, { tensor: name });
        let verdict = 'exact';
        try {
          const got = await decoder.decode(g);
          const bad = got.findIndex((x, i) => x !== weights[i]);
          if (bad >= 0) verdict = `WRONG at ${bad}`;
        } catch (e) {
          verdict = `ERROR ${(e as Error).message.slice(0, 60)}`;
        }
        if (exponents) {
          const got = await decoder.decodeExponents(g);
          const bad = got.findIndex((e, i) => e !== ((weights[i]! >> 7) & 0xff));
          verdict += bad >= 0 ? `; plane WRONG at ${bad}` : '; plane exact';
        }
        const out = device.createBuffer({ size: outputEndBytes(weights.length, 0), usage: STORAGE });
        const t = await timePasses(device, (pass) => decoder.decodeInPass(pass, g, out, 0, exponents ? 'exponents' : 'bf16'), iterations, repeats);
        if (showSamples) console.log(`${v} ${budget} ${name} samples (ms): ${t.samples.map((x) => x.toFixed(3)).join(' ')}`);
        await decoder.checkErrors().catch(() => undefined);
        out.destroy();
        decoder.release(g);
        const gbs = (2 * weights.length) / t.ms / 1e6;
        rows.push(`${v.padEnd(4)} ${String(budget).padStart(6)} ${String(decoder.stageWords).padStart(6)} ${name.padEnd(6)} ${t.ms.toFixed(3).padStart(8)} ${gbs.toFixed(0).padStart(6)} ${t.hostCpu.toFixed(2).padStart(5)}  ${verdict}`);
        console.log(rows[rows.length - 1]);
      }
      decoder.destroy();
    }
  }
  console.log("\nvar  wgByte  stage unit     ms/dec   GB/s   cpu  check");
  for (const r of rows) console.log(r);
  ctx.destroy();
}

/**
 * The indexed kernel of an indexed variant: another indexed variant's source (`base`), or a file
 * (default the library's), with its edits applied.
 */
export function indexedSource(name: string, spec: NonNullable<Variant['indexed']>): string {
  const base = spec.base === undefined ? undefined : VARIANTS[spec.base]?.indexed;
  if (spec.base !== undefined && base === undefined) throw new Error(`variant ${name}: unknown indexed base ${spec.base}`);
  let code = base ? indexedSource(spec.base!, base) : readFileSync(join(repoRoot(), spec.file ?? join('src', 'gpu', 'kernels', 'decode-indexed.wgsl')), 'utf8');
  for (const [from, to] of spec.edits ?? []) {
    // A pattern with the g flag replaces every match (at least one); anything else exactly one.
    const all = typeof from !== 'string' && from.flags.includes('g');
    const n = code.split(typeof from === 'string' ? from : new RegExp(from.source, 'g')).length - 1;
    if (all ? n === 0 : n !== 1) throw new Error(`variant ${name}: an edit matches ${n} times`);
    const text = typeof to === 'string' ? to : to();
    code = code.replace(from, () => text);
  }
  return code;
}

/** The WGSL of a variant: its file, or its base variant's source with the edits and transform applied. */
export function variantSource(name: string, spec: Variant): string {
  let code: string;
  if (spec.probeOf === undefined) {
    code = readFileSync(join(repoRoot(), spec.file ?? join('dev', 'kernels', `decode-${name}.wgsl`)), 'utf8');
  } else {
    const base = VARIANTS[spec.probeOf];
    if (!base) throw new Error(`variant ${name}: unknown base ${spec.probeOf}`);
    code = variantSource(spec.probeOf, base);
  }
  for (const [from, to] of spec.edits ?? []) {
    const all = typeof from !== 'string' && from.flags.includes('g');
    const pattern = typeof from === 'string' ? new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g') : new RegExp(from.source, 'g');
    const matches = [...code.matchAll(pattern)];
    if (all ? matches.length === 0 : matches.length !== 1) throw new Error(`variant ${name}: an edit matches ${matches.length} times in ${spec.probeOf}`);
    const text = typeof to === 'string' ? to : to();
    for (const m of matches.reverse()) code = code.slice(0, m.index) + text + code.slice(m.index + m[0].length);
  }
  return spec.transform === 'persistent' ? persistentKernel(code, name) : code;
}

/**
 * Rewrites a one-chunk-per-workgroup kernel (whose main starts with `let b = params.chunk_base + wg.x;`
 * and returns only in workgroup-uniform control flow) into a grid-stride loop over the dispatch's
 * chunks, with a barrier between chunks.
 */
function persistentKernel(code: string, name: string): string {
  const start = '  let b = params.chunk_base + wg.x;\n';
  const entry = code.indexOf('@compute @workgroup_size(WG)');
  const at = code.indexOf(start, entry);
  if (entry < 0 || at < 0 || !code.endsWith('}\n')) throw new Error(`variant ${name}: the kernel does not have the expected main`);
  const head = code.slice(0, at).replace('fn main(@builtin(workgroup_id) wg: vec3<u32>,', 'fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,');
  const body = code
    .slice(at + start.length, code.length - 2)
    .replace(/\breturn;/g, 'continue;')
    .split('\n')
    .map((l) => (l.length > 0 ? `  ${l}` : l))
    .join('\n');
  return `${head}  let chunk_end = params.chunk_base + params.chunk_count;
  for (var b = params.chunk_base + wg.x; b < chunk_end; b += nwg.x) {
    // The previous chunk's write phase is done with the stage and the subgroup sums.
    workgroupBarrier();
${body}  }
}
`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
