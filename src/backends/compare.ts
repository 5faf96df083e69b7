// Compares the engine with onnxruntime-web on the same work (a forward pass, a whole greedy answer): times both
// with ./timing.ts, checks that they computed the same thing, and picks the backend that should do this work.
import { measure, type Timing, type TimingOptions } from './timing.ts';

export type BackendName = 'engine' | 'onnxruntime';

/**
 * onnxruntime must be faster by more than this fraction of the engine's time to be chosen: closer timings are a
 * tie, which keeps the engine (timings on a busy machine vary by a few percent from run to run).
 */
export const TIE_MARGIN = 0.05;

/** The other backend's outcome: its timing, or why it could not run. */
export type Attempt<T> = { ok: true; timing: Timing<T> } | { ok: false; error: string };

export interface BackendChoice {
  backend: BackendName;
  /** One sentence saying why. */
  reason: string;
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3)) + ' ms';

/**
 * The faster backend, with the reasons the engine is kept: onnxruntime failed, computed something else (`mismatch`),
 * or is not faster than the engine by more than `tieMargin`.
 */
export function chooseBackend(engineMs: number, ort: { ms: number } | { error: string }, mismatch: string | null = null, tieMargin = TIE_MARGIN): BackendChoice {
  if ('error' in ort) return { backend: 'engine', reason: `onnxruntime-web could not run: ${ort.error}` };
  if (mismatch) return { backend: 'engine', reason: `onnxruntime-web's result differed from the engine's (${mismatch})` };
  if (!(Number.isFinite(ort.ms) && Number.isFinite(engineMs))) return { backend: 'engine', reason: `a timing is not a number (engine ${engineMs}, onnxruntime-web ${ort.ms})` };
  if (ort.ms < engineMs * (1 - tieMargin)) return { backend: 'onnxruntime', reason: `onnxruntime-web is faster (${ms(ort.ms)} against ${ms(engineMs)})` };
  if (ort.ms < engineMs) return { backend: 'engine', reason: `a tie within ${Math.round(tieMargin * 100)}% (${ms(ort.ms)} against ${ms(engineMs)}) keeps the engine` };
  return { backend: 'engine', reason: `the engine is faster (${ms(engineMs)} against ${ms(ort.ms)})` };
}

export interface Comparison<T> {
  engine: Timing<T>;
  ort: Attempt<T>;
  /** Why the two first results differ, or null when they agree (or onnxruntime did not run). */
  mismatch: string | null;
  choice: BackendChoice;
}

export interface CompareOptions<T> extends TimingOptions {
  /** Says how two results differ, or null when they are the same. Default: no check. */
  differ?: (engine: T, ort: T) => string | null;
}

/**
 * Times the engine, then onnxruntime (or takes its failure to start, given as an Error), on the same work; an
 * error thrown while onnxruntime runs counts as its failure, while the engine's own errors propagate.
 */
export async function compareBackends<T>(engine: () => Promise<T>, ort: (() => Promise<T>) | Error, opts: CompareOptions<T>): Promise<Comparison<T>> {
  const engineTiming = await measure(engine, opts);
  let attempt: Attempt<T>;
  if (ort instanceof Error) attempt = { ok: false, error: ort.message };
  else {
    try {
      attempt = { ok: true, timing: await measure(ort, opts) };
    } catch (e) {
      attempt = { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }
  const mismatch = attempt.ok && opts.differ ? opts.differ(engineTiming.first, attempt.timing.first) : null;
  const choice = chooseBackend(engineTiming.meanMs, attempt.ok ? { ms: attempt.timing.meanMs } : { error: attempt.error }, mismatch);
  return { engine: engineTiming, ort: attempt, mismatch, choice };
}
