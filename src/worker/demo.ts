// The demo run inside the worker: open the engine session on a model, run one forward pass, then train LoRA and stream progress.
import { urlSource } from '../io/files.ts';
import { createRng, type Rng } from '../model/rng.ts';
import type { DemoEvent, DemoOptions, DemoSummary, ModelSummary } from './protocol.ts';

/** The part of src/engine/session.ts's `Session` the demo uses. */
export interface EngineSession {
  info: ModelSummary;
  forward(ids: number[]): Promise<Float32Array>;
  trainStep(batch: { ids: Int32Array; labels: Int32Array; batchSize: number; seqLen: number }): Promise<number>;
  encode(text: string): number[];
  destroy(): void;
}

export interface OpenSessionOptions {
  lora?: { rank: number; alpha: number; targets: string[] };
  seed?: number;
  lr?: number;
}

/** The engine entry points the demo needs (`openSession` from src/engine/session.ts, `urlSource` from src/io/files.ts). */
export interface EngineModules {
  // Method syntax on purpose: the real `openSession` takes a `FileSource`, which these signatures accept.
  urlSource(baseUrl: string): unknown;
  openSession(device: GPUDevice, model: unknown, opts?: OpenSessionOptions): Promise<EngineSession>;
}

// ============================================================================================
// ENGINE WIRING: the only place that reaches into src/engine and src/io. Dynamic imports keep the
// engine in its own chunk, fetched when a run starts.
// ============================================================================================
async function loadEngine(): Promise<EngineModules> {
  const [{ Session }, { Gpu, summarizeInfo }] = await Promise.all([
    import('../engine/session.ts'),
    import('../gpu/context.ts'),
  ]);
  return {
    urlSource,
    async openSession(device, model, opts) {
      const gpu = new Gpu(device, summarizeInfo(device.adapterInfo, device.features));
      const session = await Session.open(gpu, model as import('../io/files.ts').FileSource, {
        lora: opts?.lora ? { rank: opts.lora.rank, alpha: opts.lora.alpha, targets: opts.lora.targets as import('../model/peft.ts').ProjName[], dropout: 0 } : undefined,
        seed: opts?.seed,
        train: opts?.lr !== undefined ? { lr: opts.lr } : undefined,
      });
      return {
        info: session.info,
        encode: (text: string) => session.encode(text),
        forward: async (ids: number[]) => (await session.forward({ ids: Int32Array.from(ids), batchSize: 1, seqLen: ids.length }))[0],
        trainStep: (batch) => session.trainStep(batch),
        destroy: () => session.destroy(),
      };
    },
  };
}

/** Runs the demo on `device`, sending progress to `emit`; stops between steps once `signal` aborts. */
export async function runDemo(
  device: GPUDevice,
  opts: DemoOptions,
  emit: (event: DemoEvent) => void,
  signal: AbortSignal,
): Promise<DemoSummary> {
  validate(opts);
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  const summary: DemoSummary = { stepsDone: 0, cancelled: false, firstLoss: null, lastLoss: null, tokensPerSec: 0, elapsedMs: 0 };
  const finish = (cancelled: boolean): DemoSummary => ({ ...summary, cancelled, elapsedMs: elapsed() });

  emit({ type: 'phase', phase: 'engine', message: 'Loading the engine', elapsedMs: elapsed() });
  const engine = await loadEngine();
  if (signal.aborted) return finish(true);

  emit({ type: 'phase', phase: 'loading', message: `Loading model from ${opts.modelUrl}`, elapsedMs: elapsed() });
  const tLoad = performance.now();
  const session = await engine.openSession(device, engine.urlSource(opts.modelUrl), {
    lora: { rank: opts.rank, alpha: opts.alpha, targets: opts.targets },
    seed: opts.seed,
    lr: opts.lr,
  });
  try {
    emit({ type: 'loaded', model: { ...session.info }, loadMs: performance.now() - tLoad, elapsedMs: elapsed() });
    if (signal.aborted) return finish(true);

    const stream = tokenStream(session.encode(opts.text), opts.seqLen);

    emit({ type: 'phase', phase: 'forward', message: 'Forward pass', elapsedMs: elapsed() });
    const prompt = stream.slice(0, opts.seqLen);
    const tFwd = performance.now();
    const logits = await session.forward(prompt);
    const fwdMs = performance.now() - tFwd;
    const vocab = session.info.vocabSize;
    if (logits.length !== prompt.length * vocab) {
      throw new Error(`forward returned ${logits.length} logits, expected ${prompt.length} x ${vocab}`);
    }
    emit({ type: 'forward', tokens: prompt.length, vocabSize: vocab, ...scoreLogits(logits, prompt, vocab), ms: fwdMs, elapsedMs: elapsed() });

    emit({ type: 'phase', phase: 'training', message: `Training ${opts.steps} steps`, elapsedMs: elapsed() });
    const rng = createRng(opts.seed);
    const tokensPerStep = opts.batchSize * opts.seqLen;
    const tTrain = performance.now();
    for (let step = 1; step <= opts.steps; step++) {
      if (signal.aborted) return finish(true);
      const batch = sampleBatch(stream, opts.batchSize, opts.seqLen, rng);
      const tStep = performance.now();
      const loss = await session.trainStep(batch);
      const now = performance.now();
      summary.stepsDone = step;
      summary.firstLoss ??= loss;
      summary.lastLoss = loss;
      summary.tokensPerSec = (tokensPerStep * step) / ((now - tTrain) / 1000);
      emit({ type: 'step', step, steps: opts.steps, loss, stepMs: now - tStep, tokensPerSec: summary.tokensPerSec, elapsedMs: elapsed() });
    }
    return finish(false);
  } finally {
    session.destroy();
  }
}

function validate(o: DemoOptions): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt('steps', o.steps);
  positiveInt('batchSize', o.batchSize);
  positiveInt('seqLen', o.seqLen);
  positiveInt('rank', o.rank);
  if (!(o.lr > 0)) throw new RangeError(`lr must be positive, got ${o.lr}`);
  if (!o.text.trim()) throw new RangeError('the training text is empty');
}

/** Repeats the encoded text until it holds at least two windows of `seqLen` tokens. */
function tokenStream(ids: number[], seqLen: number): number[] {
  if (ids.length === 0) throw new Error('the tokenizer produced no tokens for the training text');
  const out = [...ids];
  while (out.length < 2 * seqLen) out.push(...ids);
  return out;
}

/** `batchSize` random windows of the stream; labels equal ids (the engine shifts them, HF causal-LM convention). */
function sampleBatch(stream: number[], batchSize: number, seqLen: number, rng: Rng) {
  const ids = new Int32Array(batchSize * seqLen);
  for (let b = 0; b < batchSize; b++) {
    const start = Math.floor(rng.uniform() * (stream.length - seqLen + 1));
    for (let t = 0; t < seqLen; t++) ids[b * seqLen + t] = stream[start + t];
  }
  return { ids, labels: ids.slice(), batchSize, seqLen };
}

/** Mean next-token cross-entropy of `ids` under `logits` [T, V], and the top token after the last position. */
function scoreLogits(logits: Float32Array, ids: number[], vocab: number) {
  let allFinite = true;
  let nll = 0;
  let nextToken = 0;
  const T = ids.length;
  for (let t = 0; t < T; t++) {
    const row = logits.subarray(t * vocab, (t + 1) * vocab);
    let max = -Infinity;
    let arg = 0;
    for (let v = 0; v < vocab; v++) {
      const x = row[v];
      if (!Number.isFinite(x)) allFinite = false;
      if (x > max) {
        max = x;
        arg = v;
      }
    }
    if (t === T - 1) {
      nextToken = arg;
      break;
    }
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(row[v] - max);
    nll += max + Math.log(sum) - row[ids[t + 1]];
  }
  return { loss: T > 1 ? nll / (T - 1) : NaN, nextToken, allFinite };
}
