// The progress indicator: bytes/s and ETA from an injected clock, a redrawn bar on a TTY,
// occasional plain lines elsewhere, nothing when disabled.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatDuration, PLAIN_INTERVAL_MS, Progress, REDRAW_INTERVAL_MS } from '../../src/cli/progress.js';

function sink(isTTY: boolean): { stream: { write(t: string): void; isTTY: boolean; columns: number }; text: () => string } {
  let text = '';
  return { stream: { write: (t: string) => void (text += t), isTTY, columns: 100 }, text: () => text };
}

test('formatBytes and formatDuration', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1500), '1.50 kB');
  assert.equal(formatBytes(25_300_000), '25.3 MB');
  assert.equal(formatBytes(16_060_000_000), '16.1 GB');
  assert.equal(formatDuration(5), '0:05');
  assert.equal(formatDuration(125), '2:05');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(Infinity), '?');
});

test('describe gives percent, bytes, rate and ETA', () => {
  let now = 1000;
  const { stream } = sink(false);
  const p = new Progress({ stream, label: 'x', totalBytes: 4_000_000, now: () => now });
  now += 2000;
  p.advance(1_000_000);
  assert.equal(p.describe(), '25% 1.00 MB / 4.00 MB 500 kB/s ETA 0:06');
});

test('TTY: redraws in place at most every REDRAW_INTERVAL_MS and clears on finish', () => {
  let now = 0;
  const out = sink(true);
  const p = new Progress({ stream: out.stream, label: 'compress', totalBytes: 100, now: () => now });
  p.advance(10);
  const first = out.text();
  assert.match(first, /^\r\x1b\[2Kcompress \[#{2}-{22}\] 10%/);
  p.advance(10); // too soon: no redraw
  assert.equal(out.text(), first);
  now += REDRAW_INTERVAL_MS;
  p.advance(30);
  assert.match(out.text(), /compress \[#{12}-{12}\] 50%/);
  p.finish();
  assert.ok(out.text().endsWith('\r\x1b[2K'));
});

test('not a TTY: plain lines, rarely; disabled: nothing but log lines', () => {
  let now = 0;
  const out = sink(false);
  const p = new Progress({ stream: out.stream, label: 'verify', totalBytes: 100, now: () => now });
  p.advance(50);
  assert.equal(out.text(), '');
  now += PLAIN_INTERVAL_MS;
  p.advance(10);
  assert.match(out.text(), /^verify: 60% 60 B \/ 100 B/);
  assert.ok(!out.text().includes('\x1b'));
  const quiet = sink(true);
  const q = new Progress({ stream: quiet.stream, label: 'v', totalBytes: 10, enabled: false, now: () => now });
  now += PLAIN_INTERVAL_MS;
  q.advance(5);
  q.finish();
  assert.equal(quiet.text(), '');
  q.log('FAIL something');
  assert.equal(quiet.text(), 'FAIL something\n');
});
