// Progress reporting on stderr for long CLI commands, without dependencies.
// On a TTY: one bar redrawn in place (at most every REDRAW_INTERVAL_MS) with bytes done, rate and ETA.
// Elsewhere (pipes, CI logs): a plain line at most every PLAIN_INTERVAL_MS, or nothing when disabled.

/** Minimum time between two redraws of the TTY bar. */
export const REDRAW_INTERVAL_MS = 100;
/** Minimum time between two plain progress lines when stderr is not a terminal. */
export const PLAIN_INTERVAL_MS = 10_000;
/** Terminal width assumed when the stream does not say (or says 0). */
const DEFAULT_COLUMNS = 80;
/** Width of the bar itself, in characters. */
const BAR_CHARS = 24;
/** A rate is shown only after this much time, so the first tick does not print nonsense. */
const MIN_RATE_WINDOW_MS = 250;

/** The bits of a writable stream the progress bar needs (process.stderr satisfies it). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Where to draw; stderr in the CLI. */
  stream: ProgressStream;
  /** Short text in front of the bar, e.g. "compress". */
  label: string;
  /** Total bytes of work; 0 means unknown (no percentage or ETA). */
  totalBytes: number;
  /** false: print nothing at all (--quiet). */
  enabled?: boolean;
  /** Clock in milliseconds, injectable for tests. */
  now?: () => number;
}

/** Formats a byte count with binary-free SI units ("1.23 GB"), as users compare with file sizes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

/** Formats seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * A byte-based progress indicator. Call `advance(bytes)` as work completes and `finish()` once at the
 * end (it clears the TTY line so the command's own summary starts on a clean line).
 */
export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly enabled: boolean;
  private readonly now: () => number;
  private readonly startMs: number;
  private label: string;
  private total: number;
  private done = 0;
  private lastDrawMs = -Infinity;
  private drawn = false;

  constructor(options: ProgressOptions) {
    this.stream = options.stream;
    this.tty = options.stream.isTTY === true;
    this.enabled = options.enabled !== false;
    this.now = options.now ?? (() => Date.now());
    this.startMs = this.now();
    this.label = options.label;
    this.total = Math.max(0, options.totalBytes);
    if (this.tty) this.lastDrawMs = this.startMs - REDRAW_INTERVAL_MS;
    else this.lastDrawMs = this.startMs;
  }

  /** Bytes completed so far. */
  get completed(): number {
    return this.done;
  }

  /** Changes the text in front of the bar (e.g. the unit being written). */
  setLabel(label: string): void {
    this.label = label;
  }

  /** Raises the total (e.g. when the amount of work becomes known later). */
  setTotal(totalBytes: number): void {
    this.total = Math.max(0, totalBytes);
  }

  /** Records `bytes` more of completed work and redraws if enough time has passed. */
  advance(bytes: number): void {
    this.done += bytes;
    if (!this.enabled) return;
    const t = this.now();
    const interval = this.tty ? REDRAW_INTERVAL_MS : PLAIN_INTERVAL_MS;
    if (t - this.lastDrawMs < interval) return;
    this.lastDrawMs = t;
    this.draw(t);
  }

  /** Prints a message on its own line without breaking the bar (printed even when disabled). */
  log(message: string): void {
    const redraw = this.enabled && this.tty && this.drawn;
    if (redraw) this.stream.write('\r\x1b[2K');
    this.stream.write(message + '\n');
    if (redraw) this.draw(this.now());
  }

  /** Clears the bar (TTY); call once when the work is over, successful or not. */
  finish(): void {
    if (this.enabled && this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }

  /** The status text without the bar: "45% 1.20 GB / 2.67 GB 350 MB/s ETA 0:12". */
  describe(t: number = this.now()): string {
    const elapsedMs = t - this.startMs;
    const rate = elapsedMs >= MIN_RATE_WINDOW_MS ? (this.done * 1000) / elapsedMs : 0;
    const parts: string[] = [];
    if (this.total > 0) {
      parts.push(`${Math.min(100, Math.floor((this.done / this.total) * 100))}%`);
      parts.push(`${formatBytes(this.done)} / ${formatBytes(this.total)}`);
    } else {
      parts.push(formatBytes(this.done));
    }
    if (rate > 0) {
      parts.push(`${formatBytes(rate)}/s`);
      if (this.total > 0) parts.push(`ETA ${formatDuration(Math.max(0, this.total - this.done) / rate)}`);
    }
    return parts.join(' ');
  }

  private draw(t: number): void {
    const status = this.describe(t);
    if (!this.tty) {
      this.stream.write(`${this.label}: ${status}\n`);
      return;
    }
    const fraction = this.total > 0 ? Math.min(1, this.done / this.total) : 0;
    const filled = Math.round(fraction * BAR_CHARS);
    const bar = '#'.repeat(filled) + '-'.repeat(BAR_CHARS - filled);
    let line = `${this.label} [${bar}] ${status}`;
    const columns = this.stream.columns !== undefined && this.stream.columns > 0 ? this.stream.columns : DEFAULT_COLUMNS;
    if (line.length > columns - 1) line = line.slice(0, Math.max(0, columns - 1));
    this.stream.write('\r\x1b[2K' + line);
    this.drawn = true;
  }
}
