// The compiled `df11` binary: help for every command, exit code 2 for usage errors, one-line errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedDemoModelDir } from '../helpers/paths.js';
import { runDf11 } from './cli-harness.js';

const COMMANDS = ['compress', 'decompress', 'inspect', 'verify'];

test('df11 --help lists every command; each command has --help', async () => {
  const [top, ...each] = await Promise.all([runDf11(['--help']), ...COMMANDS.map((c) => runDf11([c, '--help']))]);
  assert.equal(top.code, 0);
  for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${c} `, 'm'));
  assert.match(top.stdout, /Exit codes: 0 success, 1 failure, 2 usage error/);
  each.forEach((r, i) => {
    assert.equal(r.code, 0, COMMANDS[i]);
    assert.match(r.stdout, new RegExp(`^Usage: df11 ${COMMANDS[i]} `), COMMANDS[i]);
    assert.equal(r.stderr, '');
  });
  assert.match(each[0]!.stdout, /memory stays around threads x/);
  assert.match(each[1]!.stdout, /memory stays around 3.4 bytes per weight/);
});

test('usage errors exit with 2 and one line on stderr', async () => {
  const demo = sharedDemoModelDir();
  const cases: string[][] = [
    [],
    ['frobnicate'],
    ['compress', demo],
    ['compress', demo, '/tmp/x', 'extra'],
    ['compress', demo, '/tmp/x', '--bogus'],
    ['compress', demo, '/tmp/x', '--threads', 'many'],
    ['compress', demo, '/tmp/x', '--threads', '0'],
    ['compress', demo, '/tmp/x', '--layout', 'zip'],
    ['compress', demo, '/tmp/x', '--arch', 'gpt9'],
    ['compress', demo, '/tmp/x', '--arch', 'llama', '--pattern-dict', 'p.json'],
    ['decompress', demo, '/tmp/x', '--shard-size', '-5'],
    ['inspect'],
    ['verify', demo, '--against'],
  ];
  const results = await Promise.all(cases.map((c) => runDf11(c)));
  results.forEach((r, i) => {
    const what = JSON.stringify(cases[i]);
    assert.equal(r.code, 2, `${what}: ${r.stderr}`);
    if (cases[i]!.length > 0) {
      assert.match(r.stderr, /^error: usage: /, what);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
    }
  });
});

test('failures exit with 1 and name the file; --debug adds the stack', async () => {
  const [plain, debug] = await Promise.all([runDf11(['inspect', '/nonexistent/df11']), runDf11(['inspect', '/nonexistent/df11', '--debug'])]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /^error: io: .*\/nonexistent\/df11/);
  assert.equal(plain.stderr.trim().split('\n').length, 1);
  assert.equal(debug.code, 1);
  assert.match(debug.stderr, /\n\s+at /);
});

test('inspect refuses a BF16 model that is not DF11', async () => {
  const r = await runDf11(['inspect', sharedDemoModelDir()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /config-invalid: no "dfloat11_config"/);
});
