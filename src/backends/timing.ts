// Times an asynchronous piece of work: warm-up runs (first-use costs such as shader compilation, reported apart),
// then timed runs until a minimum duration or a maximum count, with an injectable clock for tests.

export interface TimingOptions {
  /** Untimed runs first (their total is reported as warmupMs). Default 1. */
  warmup?: number;
  /** Keep running until this many milliseconds have passed... */
  minMs: number;
  /** ...or this many timed runs were made (at least one always is). */
  maxIters: number;
  /** Milliseconds since some origin; default performance.now. */
  now?: () => number;
}

export interface Timing<T> {
  /** Mean milliseconds of one timed run. */
  meanMs: number;
  iterations: number;
  /** Milliseconds of all warm-up runs together (0 without warm-up). */
  warmupMs: number;
  /** What the first run (warm-up or timed) returned. */
  first: T;
}

export async function measure<T>(run: () => Promise<T>, opts: TimingOptions): Promise<Timing<T>> {
  const now = opts.now ?? (() => performance.now());
  const warmup = opts.warmup ?? 1;
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`warmup must be a non-negative integer, got ${warmup}`);
  if (!(opts.maxIters >= 1)) throw new Error(`maxIters must be at least 1, got ${opts.maxIters}`);
  let first: { value: T } | null = null;
  const w0 = now();
  for (let i = 0; i < warmup; i++) {
    const value = await run();
    first ??= { value };
  }
  const t0 = now();
  const warmupMs = t0 - w0;
  let iterations = 0;
  do {
    const value = await run();
    first ??= { value };
    iterations++;
  } while (iterations < opts.maxIters && now() - t0 < opts.minMs);
  return { meanMs: (now() - t0) / iterations, iterations, warmupMs, first: first!.value };
}
