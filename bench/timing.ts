// Timing helpers shared by the codec benchmarks: best-of-N wall and CPU time, and a line that states
// the machine. CPU time (process.cpuUsage: user + system of all the process's threads) is the steadier
// figure on a shared machine: it leaves out time spent waiting for a core, so MB per CPU second is
// close to what one unloaded thread achieves (contention for caches and memory still shows).
import { availableParallelism, cpus, loadavg } from 'node:os';

export interface Timing {
  /** Best wall-clock seconds. */
  wall: number;
  /** Best CPU seconds (user + system, all threads). */
  cpu: number;
}

/** Best wall and best CPU time over `reps` runs of `run` (awaited). */
export async function bestOf(reps: number, run: () => unknown): Promise<Timing> {
  let wall = Infinity;
  let cpu = Infinity;
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run();
    wall = Math.min(wall, (performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6);
  }
  return { wall, cpu };
}

/** One result line: MB/s in all, per thread (wall), and per CPU second. */
export function rateLine(label: string, bytes: number, t: Timing, threads: number): string {
  const mb = bytes / 1e6;
  const all = mb / t.wall;
  const col = (x: number, w = 7): string => x.toFixed(0).padStart(w);
  return `${label.padEnd(36)} ${col(t.wall * 1000, 8)} ms ${col(all)} MB/s ${col(all / threads)} MB/s/thread ${col(mb / t.cpu)} MB/s per CPU s  (${threads} thread${threads > 1 ? 's' : ''})`;
}

/** The machine, Node and load, for the top of a benchmark's output. */
export function machineLine(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  return `CPU: ${model} (${cpus().length} logical, availableParallelism ${availableParallelism()}); node ${process.version}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}
