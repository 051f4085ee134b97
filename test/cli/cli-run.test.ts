// runCli in process, with a command table of test commands: dispatch, option parsing, help, exit
// codes, error lines, and that a new command needs nothing but an entry in the table.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { intOption } from '../../src/cli/args.js';
import { AtomicOutputDir } from '../../src/cli/atomic-dir.js';
import { runCli } from '../../src/cli/cli-run.js';
import { COMMANDS } from '../../src/cli/command-table.js';
import type { CliCommand } from '../../src/cli/command.js';
import { forEachLimited } from '../../src/cli/compress-model.js';
import { readCliEnv } from '../../src/cli/env.js';
import { Df11Error } from '../../src/errors.js';

function io(env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (t: string) => void (out += t) }, stderr: { write: (t: string) => void (err += t) }, env: readCliEnv(env), version: '9.9.9' },
    out: () => out,
    err: () => err,
  };
}

const calls: string[] = [];
const echo: CliCommand = {
  name: 'echo',
  summary: 'a test command',
  usage: '<word> [--times N]',
  help: 'Options:\n  --times N  repeat',
  options: { times: { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(args, ctx) {
    const n = intOption(args, 'times', 1, 1, 5);
    ctx.stdout.write(`${args.positionals[0]!} `.repeat(n).trim() + '\n');
    calls.push(`quiet=${ctx.quiet}`);
    return 0;
  },
};
const boom: CliCommand = {
  name: 'boom',
  summary: 'fails',
  usage: '',
  help: '',
  options: {},
  positionals: { min: 0, max: 0 },
  async run() {
    throw new Df11Error('unit-invalid', 'bad unit', { file: 'f.safetensors', tensor: 'model.layers.3' });
  },
};

test('dispatches to a command from the table and parses its options', async () => {
  const t = io();
  assert.equal(await runCli(['echo', 'hi', '--times', '3', '-q'], t.io, [echo, boom]), 0);
  assert.equal(t.out(), 'hi hi hi\n');
  assert.deepEqual(calls, ['quiet=true']);
});

test('help: top level lists the table, per command shows its usage', async () => {
  const top = io();
  assert.equal(await runCli(['--help'], top.io, [echo, boom]), 0);
  assert.match(top.out(), /^  echo  a test command$/m);
  assert.match(top.out(), /^  boom  fails$/m);
  const one = io();
  assert.equal(await runCli(['echo', '--help'], one.io, [echo]), 0);
  assert.match(one.out(), /^Usage: df11 echo <word> \[--times N\]/);
  const viaHelp = io();
  assert.equal(await runCli(['help', 'echo'], viaHelp.io, [echo]), 0);
  assert.equal(viaHelp.out(), one.out());
  const version = io();
  assert.equal(await runCli(['--version'], version.io, [echo]), 0);
  assert.equal(version.out(), 'df11 9.9.9\n');
  const none = io();
  assert.equal(await runCli([], none.io, [echo]), 2);
});

test('usage errors exit 2, failures exit 1 with one line, --debug adds the stack', async () => {
  for (const argv of [['nope'], ['echo'], ['echo', 'a', 'b'], ['echo', 'a', '--times', '9'], ['echo', 'a', '--what']]) {
    const t = io();
    assert.equal(await runCli(argv, t.io, [echo]), 2, argv.join(' '));
    assert.match(t.err(), /^error: usage: .+\n$/);
  }
  const f = io();
  assert.equal(await runCli(['boom'], f.io, [boom]), 1);
  assert.equal(f.err(), 'error: unit-invalid: bad unit (file f.safetensors, tensor model.layers.3)\n');
  const d = io();
  assert.equal(await runCli(['boom', '--debug'], d.io, [boom]), 1);
  assert.match(d.err(), /\n\s+at /);
});

test('the real command table has the four base commands, each with help text', () => {
  const names = COMMANDS.map((c) => c.name);
  for (const n of ['compress', 'decompress', 'inspect', 'verify']) assert.ok(names.includes(n), n);
  assert.equal(new Set(names).size, names.length);
  for (const c of COMMANDS) assert.ok(c.summary.length > 0 && c.help.length > 0 && c.usage.length > 0, c.name);
});

test('readCliEnv reads only the documented variables', () => {
  const e = readCliEnv({ HF_ENDPOINT: 'http://mirror', HF_HUB_OFFLINE: '1', HF_HOME: '/h', NO_COLOR: '1' });
  assert.deepEqual(e, { hfEndpoint: 'http://mirror', hfOffline: true, hfHome: '/h', hubCacheDir: join('/h', 'hub'), hfToken: undefined, noColor: true });
  const d = readCliEnv({ HF_HUB_OFFLINE: '0', NO_COLOR: '' });
  assert.equal(d.hfOffline, false);
  assert.equal(d.noColor, false);
  assert.equal(readCliEnv({ HF_HOME: '/h', HF_HUB_CACHE: '/c' }).hubCacheDir, '/c');
});

test('forEachLimited keeps at most `limit` items in flight and stops after a failure', async () => {
  let running = 0;
  let peak = 0;
  const seen: number[] = [];
  await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, undefined, async (i) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 2));
    seen.push(i);
    running--;
  });
  assert.equal(peak, 3);
  assert.deepEqual(seen.sort(), [1, 2, 3, 4, 5, 6, 7]);
  const started: number[] = [];
  await assert.rejects(
    forEachLimited([1, 2, 3, 4, 5, 6], 2, undefined, async (i) => {
      started.push(i);
      if (i === 2) throw new Error('no');
      await new Promise((r) => setTimeout(r, 5));
    }),
    /no/,
  );
  assert.ok(started.length <= 3, started.join(','));
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(forEachLimited([1], 1, ac.signal, async () => undefined), (e: unknown) => e instanceof Df11Error && e.code === 'interrupted');
});

test('AtomicOutputDir: appears only on commit, abort leaves nothing, overwrite replaces', async () => {
  const root = await mkdtemp(join(tmpdir(), 'df11-atomic-'));
  try {
    const out = join(root, 'out');
    const a = await AtomicOutputDir.create(out, { overwrite: false });
    await writeFile(a.path('x.txt'), 'one');
    assert.deepEqual((await readdir(root)).filter((n) => n === 'out'), []);
    await a.commit();
    assert.deepEqual(await readdir(out), ['x.txt']);
    await assert.rejects(AtomicOutputDir.create(out, { overwrite: false }), (e: unknown) => e instanceof Df11Error && e.code === 'output-exists');
    const b = await AtomicOutputDir.create(out, { overwrite: true });
    await writeFile(b.path('y.txt'), 'two');
    await b.abort();
    assert.deepEqual(await readdir(root), ['out']);
    assert.deepEqual(await readdir(out), ['x.txt']);
    const c = await AtomicOutputDir.create(out, { overwrite: true });
    await writeFile(c.path('y.txt'), 'two');
    await c.commit();
    assert.deepEqual(await readdir(root), ['out']);
    assert.deepEqual(await readdir(out), ['y.txt']);
    await assert.rejects(AtomicOutputDir.create(root, { overwrite: true, protect: [out] }), /would replace the input/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
