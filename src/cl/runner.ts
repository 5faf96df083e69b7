// Runs a continual-learning experiment on the engine: for each method, trains the tasks in order,
// evaluates every task seen so far after each one (greedy decoding, exact match or ROUGE-L), and
// commits the method's adapters, replay samples and the results so far to storage after every
// task. The CLI and the browser worker both call this.
import type { Session } from '../engine/session.ts';
import { padIdFor, type EncodedExample } from '../data/encode.ts';
import { encodeTaskExample } from '../data/fit-example.ts';
import { EncodedExamples, KEPT_TRAIN_TOKENS } from '../data/lazy-encode.ts';
import type { ChatSettings } from '../data/prompt.ts';
import type { Task } from '../data/task.ts';
import { createRng, rngFromState, type Rng } from '../model/rng.ts';
import { budgetBytesOf, EXPERIMENT_DEFAULTS, type Experiment } from './experiment.ts';
import { taskBaselines, type TaskBaselines } from './baselines.ts';
import { computeMetrics, type ContinualMetrics, type ScoreMatrix } from './metrics.ts';
import { createMethod } from './methods/index.ts';
import type { ContinualMethod, EncodedTask, MethodContext, RunSettings } from './methods/method.ts';
import { EtaEstimator } from './eta.ts';
import { assertFitsModel, assertRunnable } from './run-checks.ts';
import { pickMetric, scoreTask } from './scoring.ts';
import { parseStateFiles, stateFiles, STATE_JSON, STATE_TENSORS } from './methods/state.ts';
import { readJsonFile, type RunStorage } from './storage.ts';

export interface RunProgress {
  method: string;
  methodIndex: number;
  methods: number;
  /** 'train', a method's own phase (e.g. 'selector'), or 'eval'. */
  phase: string;
  task: number;
  tasks: number;
  step: number;
  steps: number;
  loss: number | null;
  tokensPerSecond: number | null;
  /** Fraction of the whole run done, in [0, 1]. */
  done: number;
  /**
   * Seconds left, from the time training steps and task evaluations each took so far in this process (see
   * EtaEstimator); null before anything was timed.
   */
  etaSeconds?: number | null;
}

export interface LossPoint {
  task: number;
  phase: string;
  step: number;
  loss: number;
}

export interface MethodResult {
  method: string;
  /** a[k][t]: the score (percent) on task t after training task k; null where not evaluated. Null for joint training. */
  matrix: ScoreMatrix | null;
  /** Joint training (MTL): the scores after its single stage. */
  final: number[];
  metrics: ContinualMetrics | null;
  losses: LossPoint[];
  timings: { trainSeconds: number[]; evalSeconds: number[]; tokensPerSecond: number };
  /**
   * For methods that select modules themselves: routing[k][t] = the selector's mean weight over the
   * modules on task t's test prompts after training task k (null where not evaluated).
   */
  routing: (number[] | null)[][] | null;
  /** Example predictions on the last evaluation, per task (up to 5). */
  samples: { input: string; gold: string; prediction: string }[][];
}

export interface RunResults {
  version: 1;
  model: { arch: string; params: number; layers: number; hidden: number };
  device: string;
  settings: Omit<Experiment, 'methods' | 'tasks'> & { seqLen: number };
  /** `baselines`: the test split's majority-label and chance scores (absent in results stored before they were recorded). */
  /** `truncated`: its examples (train and test) cut to fit the max length, and how (absent in results stored before). */
  tasks: { name: string; metric: 'em' | 'rougeL'; train: number; test: number; labels: string[] | null; baselines?: TaskBaselines; truncated?: TaskTruncation }[];
  methods: Record<string, MethodResult>;
  /** Single-task LoRA scores (the oracle's diagonal) used for FWT, when the run includes the oracle. */
  singleTask: number[] | null;
  seconds: number;
}

export interface RunOptions {
  session: Session;
  tasks: Task[];
  experiment: Experiment;
  storage: RunStorage;
  device: string;
  onProgress?: (p: RunProgress) => void;
  /** Checked between steps; a run stops with an error when it is aborted, keeping what was committed. */
  signal?: AbortSignal;
  /** Awaited before every training step: a run pauses while the promise it returns is pending. */
  waitWhilePaused?: () => Promise<void>;
  /** Called with the results so far after every task's commit. */
  onResults?: (results: RunResults) => void;
  /**
   * Continue the run whose results.json is in `storage`: finished methods are kept, and the method
   * in progress goes on after its last finished task, from the checkpoint committed with it.
   */
  resume?: boolean;
}

/** Folder, under a method's folder, of the state a run resumes from (rewritten after every task). */
export const CHECKPOINT_FOLDER = 'checkpoint';

export interface Checkpoint {
  stage: number;
  rng: number[];
  bankCount: number;
}

/** Examples of a task (train and test together) that lost tokens to the max length, by how they were cut (see encodeTaskExample). */
export interface TaskTruncation {
  /** The input lost its end; instruction and answer whole. */
  input: number;
  /** Even without its input the example did not fit: the prompt lost tokens from the left. */
  prompt: number;
}

/**
 * Tokenises every task once, with the model's chat template, and sets the run's fixed sequence length. An example
 * longer than `maxLength` loses the end of its input, never its instruction or answer (encodeTaskExample). Training
 * encodings are kept while `keptTokens` (over all tasks) lasts; the rest are encoded again when a batch needs them,
 * identically, so a task of any size trains without holding all its tokens (see lazy-encode.ts). Test prompts are all
 * kept: every evaluation answers all of them.
 */
export function encodeTasks(session: Session, tasks: Task[], maxLength: number, chat: Partial<ChatSettings> = {},
  keptTokens = KEPT_TRAIN_TOKENS): { encoded: EncodedTask[]; seqLen: number; truncation: TaskTruncation[] } {
  const tok = session.tokenizer;
  if (!tok) throw new Error('the model has no tokenizer.json; continual learning needs one');
  let longest = 1;
  const truncation: TaskTruncation[] = [];
  const budget = { tokens: keptTokens };
  const encoded = tasks.map((task, index): EncodedTask => {
    const cut: TaskTruncation = { input: 0, prompt: 0 };
    const fit = (input: string, answer: string | null) => encodeTaskExample(tok, task.instruction, input, answer, maxLength, chat);
    const encodeTrain = (i: number): EncodedExample => {
      const { cut: _c, fullLength: _f, ...e } = fit(task.train[i].input, task.train[i].output);
      return e;
    };
    // The first pass counts the cuts and the longest example; a later encoding of the same example repeats it exactly.
    const train = EncodedExamples.encodeAll(task.train.length, (i) => {
      const { cut: how, fullLength: _f, ...e } = fit(task.train[i].input, task.train[i].output);
      if (how !== 'none') cut[how]++;
      longest = Math.max(longest, e.ids.length);
      return e;
    }, encodeTrain, budget);
    const test = task.test.map((ex) => {
      const e = fit(ex.input, null);
      if (e.cut !== 'none') cut[e.cut]++;
      return { prompt: e.ids, gold: ex.output };
    });
    for (const e of test) longest = Math.max(longest, e.prompt.length + 1);
    if (train.length === 0) throw new Error(`task "${task.name}" (${task.source}) has no training examples`);
    if (test.length === 0) throw new Error(`task "${task.name}" (${task.source}) has no test examples`);
    truncation.push(cut);
    return { task, index, train, test, metric: pickMetric(task.labels) };
  });
  return { encoded, seqLen: Math.min(maxLength, Math.ceil(longest / 8) * 8), truncation };
}

function stepsFor(exp: Experiment, enc: EncodedTask | EncodedTask[]): number {
  if (exp.steps !== null) return Array.isArray(enc) ? exp.steps * enc.length : exp.steps;
  const n = Array.isArray(enc) ? enc.reduce((s, e) => s + e.train.length, 0) : enc.train.length;
  return Math.max(1, Math.ceil((exp.epochs! * n) / exp.batchSize));
}

/** Greedy answers of a method to task e's test prompts, scored. */
async function evaluate(ctx: MethodContext, method: ContinualMethod, e: number, maxNewTokens: number) {
  const enc = ctx.tasks[e];
  const prompts = enc.test.map((x) => x.prompt);
  const routing = await method.route(ctx, e, prompts);
  ctx.session.useBank(routing.bank);
  const out = await ctx.session.generate(prompts, { maxNewTokens, batchSize: ctx.settings.batchSize, mix: routing.mix });
  const tok = ctx.session.tokenizer!;
  const preds = out.map((ids) => tok.decode(ids, { skipSpecialTokens: true }).trim());
  const score = scoreTask(preds, enc.test.map((x) => x.gold), enc.metric);
  const samples = preds.slice(0, 5).map((prediction, i) => ({ input: enc.task.test[i].input, gold: enc.task.test[i].output, prediction }));
  return { score, samples };
}

/** The mean of per-prompt weight vectors. */
function meanAttention(rows: Float32Array[]): number[] {
  const out = new Array<number>(rows[0]?.length ?? 0).fill(0);
  for (const r of rows) r.forEach((v, j) => { out[j] += v / rows.length; });
  return out;
}

/** JSON with object keys sorted at every level, so that key order does not matter in comparisons. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    // As JSON.stringify: keys whose value is undefined are left out (a stored file never has them).
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * Whether stored results belong to the same run as fresh ones: the same tasks, model and settings. The memory options
 * (recompute, memoryBudgetMiB) are left out: they change neither the loss nor the gradients, and runs stored before
 * them, or before the budget came from the device, resume under today's.
 */
export function sameRun(prev: Pick<RunResults, 'tasks' | 'settings' | 'model'>, fresh: Pick<RunResults, 'tasks' | 'settings' | 'model'>): boolean {
  // Baselines and truncation counts follow from the tasks and settings (and runs stored before them lack them): they do not tell runs apart.
  const tasks = (r: Pick<RunResults, 'tasks'>) => r.tasks.map(({ baselines: _b, truncated: _t, ...t }) => t);
  const describe = (r: Pick<RunResults, 'tasks' | 'settings' | 'model'>) => {
    const { recompute: _r, memoryBudgetMiB: _m, ...settings } = r.settings as typeof r.settings & { recompute?: unknown; memoryBudgetMiB?: unknown };
    return canonicalJson({ tasks: tasks(r), settings, model: r.model });
  };
  return describe(prev) === describe(fresh);
}

/** The saved results of the same run, or an error saying why the stored run cannot be continued. */
async function previousResults(storage: RunStorage, fresh: RunResults): Promise<RunResults | null> {
  const prev = await readJsonFile<RunResults>(storage, 'results.json');
  if (!prev) return null;
  const where = `${storage.label}: results.json`;
  if (prev.version !== 1 || typeof prev.methods !== 'object' || !Array.isArray(prev.tasks)) throw new Error(`${where}: not a results file of this version`);
  if (!sameRun(prev, fresh)) {
    throw new Error(`${where}: the stored run has other tasks, settings or model than this one, so it cannot be continued; start a new run`);
  }
  return prev;
}

/** The last stage whose evaluation was committed (-1 when none). */
function lastStage(m: MethodResult, T: number): number {
  if (!m.matrix) return m.final.length === T ? T - 1 : -1;
  let k = -1;
  for (let t = 0; t < T; t++) if (m.matrix[t]?.[t] !== null && m.matrix[t]?.[t] !== undefined) k = t;
  return k;
}

export async function readCheckpoint(storage: RunStorage, folder: string): Promise<{ cp: Checkpoint; state: import('./methods/state.ts').MethodState } | null> {
  const json = await readJsonFile(storage, `${folder}/${STATE_JSON}`);
  const tensors = await storage.read(`${folder}/${STATE_TENSORS}`);
  if (json === null || tensors === null) return null;
  const { extra, state } = parseStateFiles(json, tensors, `${storage.label}: ${folder}`);
  const cp = extra as unknown as Checkpoint;
  if (!Number.isInteger(cp.stage) || !Array.isArray(cp.rng) || !Number.isInteger(cp.bankCount)) {
    throw new Error(`${storage.label}: ${folder}/${STATE_JSON}: stage, rng or bankCount is missing`);
  }
  return { cp, state };
}

export async function runExperiment(opts: RunOptions): Promise<RunResults> {
  const { session, experiment: exp, storage } = opts;
  const started = performance.now();
  // The same checks the app and `clora run` make before anything is loaded: refuse now, not after some training.
  assertRunnable({ settings: exp, tasks: opts.tasks.map((t) => ({ name: t.name, source: t.source, train: t.train.length, test: t.test.length })) }, storage.label);
  assertFitsModel(exp, session.config, storage.label);
  const { encoded, seqLen, truncation } = encodeTasks(session, opts.tasks, exp.maxLength, exp.chat);
  const T = encoded.length;
  const tok = session.tokenizer!;
  // Runs stored before these settings existed have neither: they get the defaults.
  session.memory = {
    ...session.memory,
    recompute: exp.recompute ?? EXPERIMENT_DEFAULTS.recompute,
    budgetBytes: budgetBytesOf(exp.memoryBudgetMiB),
  };
  const settings: RunSettings = {
    steps: 0, batchSize: exp.batchSize, seqLen, padId: padIdFor(tok), lr: exp.lr, seed: exp.seed,
    lora: { rank: exp.lora.rank, alpha: exp.lora.alpha, dropout: exp.lora.dropout, targets: exp.lora.targets, useRslora: false, layers: null },
  };
  const { methods: _m, tasks: _t, ...rest } = exp;
  const results: RunResults = {
    version: 1,
    model: { arch: session.info.arch, params: session.info.numParams, layers: session.info.numLayers, hidden: session.info.hiddenSize },
    device: opts.device,
    settings: { ...rest, seqLen },
    tasks: encoded.map((e) => ({
      name: e.task.name, metric: e.metric, train: e.train.length, test: e.test.length, labels: e.task.labels,
      baselines: taskBaselines(e.test.map((x) => x.gold), e.task.labels, e.metric),
      truncated: truncation[e.index],
    })),
    methods: {},
    singleTask: null,
    seconds: 0,
  };
  // Work units for the overall progress: training steps plus one unit per evaluated task.
  const trainUnitsOf = (m: { joint?: boolean }) => (m.joint ? stepsFor(exp, encoded) : encoded.reduce((s, e) => s + stepsFor(exp, e), 0));
  const evalUnitsOf = (m: { joint?: boolean }) => (m.joint ? T : exp.evaluateUnseen ? T * T : (T * (T + 1)) / 2);
  const unitsPerMethod = (m: { joint?: boolean }) => trainUnitsOf(m) + evalUnitsOf(m);
  const methods = exp.methods.map((ref) => ({ ref, method: createMethod(ref.method, ref.options) }));
  const totalUnits = methods.reduce((s, m) => s + unitsPerMethod(m.method), 0);
  const totalEvalUnits = methods.reduce((s, m) => s + evalUnitsOf(m.method), 0);
  const evalUnitsOfStage = (t: number) => (exp.evaluateUnseen ? T : t + 1);
  const unitsOfStage = (t: number) => stepsFor(exp, encoded[t]) + evalUnitsOfStage(t);
  let doneUnits = 0;
  let doneEvalUnits = 0;
  // Time since `mark` is charged to training until an evaluation starts; pauses are left out.
  const eta = new EtaEstimator();
  let mark = performance.now();
  const chargeTrain = (units: number) => {
    const now = performance.now();
    eta.train((now - mark) / 1000, units);
    mark = now;
  };
  /** Between two steps or evaluations: waits while the run is paused, and stops it once cancelled. */
  const pauseOrStop = async () => {
    const before = performance.now();
    if (opts.waitWhilePaused) await opts.waitWhilePaused();
    mark += performance.now() - before;
    if (opts.signal?.aborted) throw new Error('the run was cancelled');
  };
  const previous = opts.resume ? await previousResults(storage, results) : null;
  // A run seeds its banks the same way on a fresh session and on one that ran before.
  session.restoreBankCount(0);
  const earlierSeconds = previous?.seconds ?? 0;

  for (const [mi, { ref, method }] of methods.entries()) {
    let rng: Rng = createRng((exp.seed * 1000003 + mi * 7919 + 17) >>> 0);
    let result: MethodResult = {
      method: ref.method, matrix: method.joint ? null : Array.from({ length: T }, () => new Array<number | null>(T).fill(null)),
      final: [], metrics: null, losses: [],
      routing: method.attention && !method.joint ? Array.from({ length: T }, () => new Array<number[] | null>(T).fill(null)) : null,
      timings: { trainSeconds: [], evalSeconds: [], tokensPerSecond: 0 }, samples: [],
    };
    // Resuming: a finished method is kept as it is; one in progress goes on from its checkpoint.
    const prev = previous?.methods[ref.name];
    const prevStage = prev ? lastStage(prev, T) : -1;
    let firstStage = 0;
    let restored: Awaited<ReturnType<typeof readCheckpoint>> = null;
    if (prev && prevStage === T - 1) {
      results.methods[ref.name] = prev;
      doneUnits += unitsPerMethod(method);
      doneEvalUnits += evalUnitsOf(method);
      // Later methods' banks are seeded by how many banks the run created before them.
      const cp = await readJsonFile<Partial<Checkpoint>>(storage, `${ref.name}/${CHECKPOINT_FOLDER}/${STATE_JSON}`);
      if (typeof cp?.bankCount === 'number') session.restoreBankCount(cp.bankCount);
      continue;
    }
    if (prev && prevStage >= 0 && !method.joint) {
      restored = await readCheckpoint(storage, `${ref.name}/${CHECKPOINT_FOLDER}`);
      if (restored && restored.cp.stage === prevStage) {
        result = prev;
        firstStage = prevStage + 1;
        rng = rngFromState(restored.cp.rng);
        for (let t = 0; t <= prevStage; t++) {
          doneUnits += unitsOfStage(t);
          doneEvalUnits += evalUnitsOfStage(t);
        }
      } else {
        restored = null;
      }
    }
    results.methods[ref.name] = result;
    let trainTime = result.timings.trainSeconds.reduce((a, b) => a + b, 0);
    let trainTokens = result.timings.tokensPerSecond * trainTime;
    let currentTask = firstStage;
    const progress = (phase: string, step: number, steps: number, loss: number | null, tps: number | null) => opts.onProgress?.({
      method: ref.name, methodIndex: mi, methods: methods.length, phase, task: currentTask, tasks: T, step, steps, loss, tokensPerSecond: tps,
      done: totalUnits > 0 ? doneUnits / totalUnits : 1,
      etaSeconds: eta.estimate(totalUnits - totalEvalUnits - (doneUnits - doneEvalUnits), totalEvalUnits - doneEvalUnits),
    });
    const ctx: MethodContext = {
      session, tasks: encoded, settings: { ...settings }, rng,
      createBank: (spec, from) => session.createBank(spec, from),
      train: async (phase, steps, batchFor, extrasFor) => {
        session.train = { ...session.train, lr: exp.lr };
        const t0 = performance.now();
        let tokens = 0;
        const inFlight: Promise<number>[] = [];
        const flushOne = async (step: number) => {
          const loss = await inFlight.shift()!;
          if (!Number.isFinite(loss)) throw new Error(`${ref.name}: the loss became ${loss} at ${phase} step ${step} of task "${encoded[currentTask].task.name}"; lower the learning rate`);
          result.losses.push({ task: currentTask, phase, step, loss });
          const secs = (performance.now() - t0) / 1000;
          if (phase === 'train') doneUnits++;
          chargeTrain(phase === 'train' ? 1 : 0);
          progress(phase, step, steps, loss, secs > 0 ? tokens / secs : null);
        };
        try {
          for (let step = 0; step < steps; step++) {
            await pauseOrStop();
            const batch = batchFor(step);
            for (let i = 0; i < batch.labels.length; i++) if (batch.ids[i] !== settings.padId || batch.labels[i] !== -100) tokens++;
            inFlight.push(session.trainStep(batch, extrasFor?.(step) ?? {}));
            if (inFlight.length >= 2) await flushOne(step - inFlight.length + 1);
          }
          while (inFlight.length > 0) await flushOne(steps - inFlight.length);
        } finally {
          // A step still in flight when another fails (a lost device) must not become an unhandled rejection.
          for (const pending of inFlight) pending.catch(() => {});
        }
        trainTokens += tokens;
        trainTime += (performance.now() - t0) / 1000;
      },
    };

    const stages = method.joint ? [0] : encoded.map((e) => e.index).filter((t) => t >= firstStage);
    try {
      if (restored) {
        await method.loadState(ctx, restored.cp.stage, restored.state);
        session.restoreBankCount(restored.cp.bankCount);
      }
      for (const t of stages) {
        currentTask = t;
        const steps = method.joint ? stepsFor(exp, encoded) : stepsFor(exp, encoded[t]);
        ctx.settings.steps = steps;
        const trainStart = performance.now();
        await method.beforeTask(ctx, t);
        await ctx.train('train', steps, (step) => method.batch(ctx, t, step), (step) => method.extras(ctx, t, step));
        await method.afterTask(ctx, t);
        result.timings.trainSeconds.push((performance.now() - trainStart) / 1000);

        const evalStart = performance.now();
        chargeTrain(0);
        const upTo = method.joint || exp.evaluateUnseen ? T : t + 1;
        result.samples = [];
        for (let e = 0; e < upTo; e++) {
          await pauseOrStop();
          progress('eval', e, upTo, null, null);
          const { score, samples } = await evaluate(ctx, method, e, exp.maxNewTokens);
          if (result.matrix) result.matrix[t][e] = score;
          else result.final[e] = score;
          if (result.routing && method.attention) result.routing[t][e] = meanAttention(await method.attention(ctx, ctx.tasks[e].test.map((x) => x.prompt)));
          result.samples.push(samples);
          doneUnits++;
          doneEvalUnits++;
          const now = performance.now();
          eta.eval((now - mark) / 1000, 1);
          mark = now;
        }
        result.timings.evalSeconds.push((performance.now() - evalStart) / 1000);
        if (result.matrix) result.final = result.matrix[t].map((v) => v ?? 0);
        result.timings.tokensPerSecond = trainTime > 0 ? trainTokens / trainTime : 0;
        if (result.matrix && t === T - 1) result.metrics = computeMetrics(result.matrix);
        results.seconds = earlierSeconds + (performance.now() - started) / 1000;
        // One atomic commit per task: this method's files after task t and the results so far.
        const artifacts = await method.artifacts(ctx, t);
        const files: Record<string, Uint8Array | string> = { 'results.json': JSON.stringify(results, null, 2) };
        for (const [path, data] of Object.entries(artifacts)) files[`${ref.name}/${path}`] = data;
        // The checkpoint goes in the same commit as the results it continues from; after the last
        // task it is the trained method itself, which the playground reloads.
        const cp: Checkpoint = { stage: method.joint ? T - 1 : t, rng: rng.state(), bankCount: session.bankCount };
        const state = stateFiles(await method.saveState(ctx, t), cp as unknown as Record<string, unknown>);
        for (const [name, data] of Object.entries(state)) files[`${ref.name}/${CHECKPOINT_FOLDER}/${name}`] = data;
        await storage.commit(files);
        opts.onResults?.(results);
      }
    } finally {
      method.dispose(ctx);
    }
  }

  // FWT against single-task LoRA scores: the oracle's diagonal, when it ran.
  const oracle = Object.values(results.methods).find((m) => m.method === 'oracle' && m.matrix);
  if (oracle?.matrix) {
    results.singleTask = oracle.matrix.map((row, t) => row[t] ?? 0);
    for (const m of Object.values(results.methods)) if (m.matrix) m.metrics = computeMetrics(m.matrix, results.singleTask);
  }
  results.seconds = earlierSeconds + (performance.now() - started) / 1000;
  await storage.commit({ 'results.json': JSON.stringify(results, null, 2) });
  return results;
}
