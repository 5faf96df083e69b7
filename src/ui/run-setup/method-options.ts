// What the "Methods and settings" panel can set: each method's options and the shared run settings, with defaults, help text and validation.
import { EXPERIMENT_DEFAULTS } from '../../cl/experiment.ts';
import { DEFAULT_PROMPT_DATE } from '../../model/chat-template.ts';
import { METHODS } from '../../cl/methods/index.ts';
import { runProblems } from '../../cl/run-checks.ts';
import { PROJ_NAMES, type ProjName } from '../../model/peft.ts';
import type { RunSettings } from '../../worker/run-job.ts';

/** One numeric field: its key, label, default, the bounds an input offers, and a sentence or two of help. */
export interface NumberSpec {
  key: string;
  label: string;
  /** The value used when the field is left alone; null when an empty field means something else (see `emptyMeans`). */
  default: number | null;
  /** Lowest value the input offers (the code may exclude it: see `help`). */
  min?: number;
  /** Highest value the input offers. */
  max?: number;
  /** The input's step; omitted for free-form decimals. */
  step?: number;
  /** Whether only whole numbers are accepted. */
  integer?: boolean;
  help: string;
  /** For fields whose default is null: what leaving them empty does. */
  emptyMeans?: string;
}

/** One option picked from a fixed list of strings (a select). */
export interface ChoiceSpec {
  kind: 'choice';
  key: string;
  label: string;
  default: string;
  choices: readonly { value: string; label: string }[];
  help: string;
}

/** A method's option as the panel shows it. */
export type MethodOptionSpec = NumberSpec | ChoiceSpec;

/** Whether an option is picked from a list rather than typed as a number. */
export function isChoiceSpec(spec: MethodOptionSpec): spec is ChoiceSpec {
  return 'kind' in spec && spec.kind === 'choice';
}

/** The stored-samples options shared by replay, both ConPET variants and SAPT; `use` says what the samples are for. */
function memorySpecs(use: string): MethodOptionSpec[] {
  return [
    {
      key: 'memoryFraction', label: 'Memory fraction', default: 0.02, min: 0, max: 1, step: 0.01,
      help: `Share of each finished task's training examples kept as stored samples (at least the minimum below), ${use}. Must be in (0, 1].`,
    },
    {
      key: 'memoryMin', label: 'Min stored per task', default: 8, min: 1, step: 1, integer: true,
      help: 'Fewest samples stored per task, so small tasks are still remembered; a task with fewer examples keeps all of them.',
    },
  ];
}

/** The rank cap every merging method takes. */
const RANK_CAP: NumberSpec = {
  key: 'rankCap', label: 'Merged rank cap', default: 0, min: 0, step: 1, integer: true,
  help: 'Largest rank of the merged adapter on each projection: after every task the merged task vector keeps only its this many largest singular directions. 0: no cap (the merged rank grows by at most the LoRA rank a task).',
};

/** Every method's options, keyed by the names METHODS uses; defaults are those of the method's create function. */
export const METHOD_OPTIONS: Readonly<Record<string, readonly MethodOptionSpec[]>> = {
  seqlora: [],
  inclora: [],
  replay: [
    {
      key: 'replayShare', label: 'Replay share', default: 0.25, min: 0, max: 1, step: 0.05,
      help: 'Share of every batch filled with stored samples of earlier tasks (at least one row, never the whole batch). Must be in (0, 1).',
    },
    ...memorySpecs('mixed into the batches of later tasks'),
  ],
  ewc: [
    {
      key: 'lambda', label: 'Penalty λ', default: 5000, min: 0, step: 100,
      help: 'Strength of the penalty (λ/2) Σ F (θ − θ*)² that holds the LoRA weights near their values after earlier tasks, weighted by the diagonal Fisher F. 0 makes EWC plain SeqLoRA.',
    },
    {
      key: 'fisherBatches', label: 'Fisher batches', default: 8, min: 1, step: 1, integer: true,
      help: 'Batches of a finished task whose squared gradients estimate its Fisher information; more batches give a steadier estimate and take longer after each task.',
    },
  ],
  lwf: [
    {
      key: 'temperature', label: 'Temperature T', default: 2, min: 0, step: 0.5,
      help: 'Softens both the previous and the current model’s token distributions in the KL distillation term; a higher T passes on more of how the previous model ranks unlikely tokens. Must be positive.',
    },
    {
      key: 'weight', label: 'Distillation weight', default: 1, min: 0, step: 0.1,
      help: 'Weight of weight · T² · KL(previous ‖ current) on the new task’s answer positions, added to the cross-entropy. 0 makes LwF plain SeqLoRA.',
    },
  ],
  olora: [
    {
      key: 'lambda1', label: 'Orthogonality λ1', default: 0.5, min: 0, step: 0.1,
      help: 'Weight of Σ |A_old A_newᵀ|, which keeps each new LoRA’s A rows orthogonal to those of earlier tasks so that they interfere less. The paper uses 0.5.',
    },
    {
      key: 'lambda2', label: 'L2 λ2', default: 0, min: 0, step: 0.01,
      help: 'Weight of the L2 norm of the new LoRA’s weights, added to the loss. The paper sets it to 0.',
    },
  ],
  sapt: [
    {
      key: 'bottleneck', label: 'Projector bottleneck', default: 100, min: 1, step: 1, integer: true,
      help: 'Width of the shared query projector (hidden size → bottleneck → hidden size) that turns a prompt into the query matched against each task’s key.',
    },
    {
      kind: 'choice', key: 'pool', label: 'Prompt pooling', default: 'mean',
      choices: [{ value: 'mean', label: 'mean' }, { value: 'max', label: 'max (the paper’s)' }],
      help: 'How the prompt’s token embeddings are pooled into the projector’s input: the paper max-pools, which on small models needs many more steps before the router tells tasks apart (docs/EXPERIMENTS.md). Mean pooling separated the real tasks within 30 steps.',
    },
    {
      key: 'klRatio', label: 'ARM KL ratio', default: 1, min: 0, step: 0.1,
      help: 'Weight of ARM’s KL term, which keeps the routing of stored samples of earlier tasks close to the attention recorded for each task; 0 turns ARM off. The paper used 1–2 with LLaMA and 0.1–0.5 with T5.',
    },
    {
      key: 'routerLr', label: 'Projector learning rate', default: null, min: 0, step: 0.0001,
      help: 'Learning rate of the shared projector’s two linear layers (attn_lr in the reference code). Must be positive.',
      emptyMeans: 'the run’s learning rate',
    },
    {
      key: 'armRows', label: 'ARM rows per step', default: 0, min: 0, step: 1, integer: true,
      help: 'Stored prompts replayed in each step for the ARM term; 0 uses half the batch.',
    },
    {
      key: 'referenceSamples', label: 'Reference samples', default: 64, min: 1, step: 1, integer: true,
      help: 'Training prompts of a finished task whose mean attention over the blocks is recorded as that task’s reference routing.',
    },
    ...memorySpecs('whose prompts ARM replays'),
  ],
  'conpet-static': memorySpecs('replayed as half of every later batch'),
  'conpet-dynamic': [
    {
      key: 'selectorSteps', label: 'Selector steps', default: 0, min: 0, step: 1, integer: true,
      help: 'Steps that train the module selector at the start of each task, before the task’s own LoRA; 0 uses half the steps per task.',
    },
    {
      key: 'topK', label: 'Top-k modules', default: 1, min: 1, step: 1, integer: true,
      help: 'How many task modules run at inference, weighted by the selector’s renormalised probabilities; 1 runs only the most likely task’s module.',
    },
    ...memorySpecs('replayed as half of the selector’s batches'),
  ],
  mtl: [],
  oracle: [],
  opcm: [
    {
      key: 'alpha', label: 'Spectrum share α', default: 0.5, min: 0, max: 1, step: 0.05,
      help: 'Each new task’s LoRA is projected away from the merged adapter’s dominant singular directions, those holding this share of the sum of its singular values (the rest only lose their diagonal part); then the merge is rescaled to the mean norm of the task LoRAs. The paper’s default is 0.5.',
    },
    RANK_CAP,
  ],
  'merge-ta': [
    {
      key: 'lambda', label: 'Scaling λ', default: 0.3, min: 0, step: 0.05,
      help: 'The merged adapter is λ times the sum of the task LoRAs (task arithmetic), each trained alone from the base model. Must be positive; 0.3 is FusionBench’s default.',
    },
    RANK_CAP,
  ],
  'merge-avg': [RANK_CAP],
};

/** The options of a method (none for an unknown name). */
export function methodOptionSpecs(method: string): readonly MethodOptionSpec[] {
  return Object.hasOwn(METHOD_OPTIONS, method) ? METHOD_OPTIONS[method] : [];
}

/** The method names in registry order. */
export function methodNames(): string[] {
  return Object.keys(METHODS);
}

/** The one-line summary of a method from the registry. */
export function methodSummary(method: string): string {
  return Object.hasOwn(METHODS, method) ? METHODS[method].summary : '';
}

/** The numeric shared settings, by the key the panel's inputs use (test id `setting-<key>`). */
export type NumberSettingKey =
  | 'steps' | 'batchSize' | 'lr' | 'maxLength' | 'maxNewTokens' | 'seed' | 'testFraction' | 'maxTrain' | 'maxTest' | 'rank' | 'alpha' | 'dropout'
  | 'memoryBudgetMiB';

/** A shared numeric setting; `optional` ones may be empty (null in RunSettings). */
export interface SettingSpec extends NumberSpec {
  key: NumberSettingKey;
  /** The field as an experiment file names it, e.g. "lora.rank". */
  field: string;
  optional?: boolean;
}

/** Help of the shared settings that are not numbers. */
export const EVALUATE_UNSEEN_HELP =
  'After each task, also score the tasks not trained yet, filling the upper triangle of the score matrix (how well each task is done before it is learned). It costs T × T evaluations instead of T(T + 1)/2 (the oracle answers a task it has not trained yet with the base model); FWT compares with the oracle’s single-task scores, so add oracle to get it.';
export const TARGETS_HELP =
  'The linear layers of every transformer block that get a LoRA: attention q, k, v, o and the MLP’s gate, up and down. q and v are the usual choice (SAPT uses them); more targets add capacity, memory and time.';

/** Default run settings for the bundled tiny demo model in a browser: short, fast runs of two contrasting methods. */
export function defaultRunSettings(): RunSettings {
  return {
    methods: [
      { method: 'seqlora', name: 'seqlora', options: {} },
      { method: 'replay', name: 'replay', options: {} },
    ],
    seed: 0,
    steps: 30,
    epochs: null,
    batchSize: 8,
    lr: 5e-3,
    maxLength: 64,
    maxNewTokens: 8,
    lora: { rank: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] },
    evaluateUnseen: false,
    testFraction: 0.2,
    maxTrain: null,
    maxTest: null,
    recompute: 'auto',
    memoryBudgetMiB: EXPERIMENT_DEFAULTS.memoryBudgetMiB,
    // Recorded with every run, so its prompts can be rebuilt exactly: Qwen3's thinking off, a fixed date for templates.
    chat: { enableThinking: false, date: DEFAULT_PROMPT_DATE },
  };
}

const DEFAULTS = defaultRunSettings();

/** The shared numeric settings in the order the panel shows them; defaults are those of `defaultRunSettings`. */
export const SETTING_SPECS: readonly SettingSpec[] = [
  {
    key: 'steps', field: 'steps', label: 'Steps per task', default: DEFAULTS.steps, min: 1, step: 1, integer: true,
    help: 'Optimizer steps on each task, one batch each. More steps fit a task better, take longer, and usually make single-LoRA methods forget more; MTL trains steps × tasks in one stage.',
  },
  {
    key: 'batchSize', field: 'batchSize', label: 'Batch size', default: DEFAULTS.batchSize, min: 1, step: 1, integer: true,
    help: 'Examples per step. Replay methods fill part of each batch with stored samples of earlier tasks, so a larger batch also replays more per step.',
  },
  {
    key: 'lr', field: 'lr', label: 'Learning rate', default: DEFAULTS.lr, min: 0, step: 0.0001,
    help: 'AdamW learning rate of the LoRA weights (no weight decay, gradients clipped to norm 1). The experiment file’s default is 2e-4; short runs on a tiny model need more.',
  },
  {
    key: 'maxLength', field: 'maxLength', label: 'Max length', default: DEFAULTS.maxLength, min: 4, step: 8, integer: true,
    help: 'Longest prompt plus answer, in tokens; a longer example loses the end of its input, never its instruction or answer (the data check shows how many). Time and memory grow with it.',
  },
  {
    key: 'maxNewTokens', field: 'maxNewTokens', label: 'Max new tokens', default: DEFAULTS.maxNewTokens, min: 1, step: 1, integer: true,
    help: 'Most tokens generated per answer at evaluation (greedy decoding). Label answers need a few; free-text answers, scored by ROUGE-L, need more.',
  },
  {
    key: 'seed', field: 'seed', label: 'Seed', default: DEFAULTS.seed, min: 0, step: 1, integer: true,
    help: 'Seeds the train/test split, the subsets, the LoRA initialisation, the batch order and the stored samples: the same seed and settings give the same results.',
  },
  {
    key: 'testFraction', field: 'testFraction', label: 'Test fraction', default: DEFAULTS.testFraction, min: 0, max: 1, step: 0.05,
    help: 'Share of a task’s examples held out for testing when its file has no split column; benchmark folders bring their own test split. Must be in (0, 1).',
  },
  {
    key: 'maxTrain', field: 'maxTrain', label: 'Max train examples', default: null, min: 1, step: 1, integer: true, optional: true,
    help: 'Train on at most this many examples of each task, a seeded subset.',
    emptyMeans: 'all',
  },
  {
    key: 'maxTest', field: 'maxTest', label: 'Max test examples', default: null, min: 1, step: 1, integer: true, optional: true,
    help: 'Score at most this many test examples of each task, a seeded subset. Every task seen so far is scored after each task, so this bounds the evaluation time.',
    emptyMeans: 'all',
  },
  {
    key: 'rank', field: 'lora.rank', label: 'LoRA rank', default: DEFAULTS.lora.rank, min: 1, step: 1, integer: true,
    help: 'Rank r of every LoRA (the inner width of B·A). A higher rank adds capacity, memory and time; per-task methods add a LoRA of this rank for every task.',
  },
  {
    key: 'alpha', field: 'lora.alpha', label: 'LoRA alpha', default: DEFAULTS.lora.alpha, min: 0, step: 1,
    help: 'The LoRA update is scaled by alpha / r; change alpha along with the rank to keep the same scale. Must be positive.',
  },
  {
    key: 'memoryBudgetMiB', field: 'memoryBudgetMiB', label: 'GPU memory budget (MiB)', default: null, min: 1, step: 256, optional: true,
    help: 'When a training step would need more GPU memory than this, each layer’s activations are recomputed in the backward pass instead of kept: far less memory for about a fifth more time per step (each layer’s forward runs twice), with the same results.',
    emptyMeans: 'from the device (its largest buffer, 2 to 8 GiB)',
  },
  {
    key: 'dropout', field: 'lora.dropout', label: 'LoRA dropout', default: DEFAULTS.lora.dropout, min: 0, max: 1, step: 0.05,
    help: 'Dropout on the LoRA branch’s input while training, in [0, 1). Zero suits short runs; 0.05 (the experiment file’s default) helps against overfitting on longer ones.',
  },
];

/** The spec of a shared numeric setting. */
export function settingSpec(key: NumberSettingKey): SettingSpec {
  const spec = SETTING_SPECS.find((s) => s.key === key);
  if (!spec) throw new Error(`unknown setting "${key}"`);
  return spec;
}

/** The current value of a shared numeric setting (null when empty). */
export function getSetting(s: RunSettings, key: NumberSettingKey): number | null {
  switch (key) {
    case 'rank':
      return s.lora.rank;
    case 'alpha':
      return s.lora.alpha;
    case 'dropout':
      return s.lora.dropout;
    case 'memoryBudgetMiB':
      return typeof s.memoryBudgetMiB === 'number' ? s.memoryBudgetMiB : null;
    default:
      return s[key];
  }
}

/** A copy of the settings with one numeric setting changed; setting steps clears epochs, as the panel trains by steps. */
export function setSetting(s: RunSettings, key: NumberSettingKey, value: number | null): RunSettings {
  switch (key) {
    case 'rank':
    case 'alpha':
    case 'dropout':
      return { ...s, lora: { ...s.lora, [key]: value ?? Number.NaN } };
    case 'steps':
      return { ...s, steps: value, epochs: value === null ? s.epochs : null };
    case 'maxTrain':
    case 'maxTest':
      return { ...s, [key]: value };
    case 'memoryBudgetMiB':
      return { ...s, memoryBudgetMiB: value ?? 'auto' };
    default:
      return { ...s, [key]: value ?? Number.NaN };
  }
}

/** A copy of the settings with one LoRA target added or removed, kept in the model's projection order. */
export function toggleTarget(s: RunSettings, target: ProjName, on: boolean): RunSettings {
  const set = new Set(s.lora.targets);
  if (on) set.add(target);
  else set.delete(target);
  return { ...s, lora: { ...s.lora, targets: PROJ_NAMES.filter((p) => set.has(p)) } };
}

/** One problem found in the settings: the field as an experiment file names it ("lora.rank", "methods[1]") and the message. */
export interface SettingsProblem {
  field: string;
  message: string;
}

const fmt = (v: unknown): string => (typeof v === 'number' ? String(v) : JSON.stringify(v));

/** The rule a shared setting follows, as parseExperiment checks it; null when the value passes. */
function settingRule(spec: SettingSpec, v: unknown): string | null {
  if (v === null && spec.optional) return null;
  const isNum = typeof v === 'number' && Number.isFinite(v);
  if (spec.integer) return isNum && Number.isSafeInteger(v) && v >= (spec.min ?? 0) ? null : `a whole number ≥ ${spec.min ?? 0}`;
  if (spec.key === 'testFraction') return isNum && v > 0 && v < 1 ? null : 'between 0 and 1 (exclusive)';
  if (spec.key === 'dropout') return isNum && v >= 0 && v < 1 ? null : 'at least 0 and below 1';
  return isNum && v > 0 ? null : 'positive';
}

/** The problems of one method entry: unknown method, bad result name, options its create function rejects. */
function methodProblems(ref: RunSettings['methods'][number], i: number): SettingsProblem[] {
  const field = `methods[${i}]`;
  const label = typeof ref.name === 'string' && ref.name.trim() !== '' ? ref.name : ref.method;
  if (!Object.hasOwn(METHODS, ref.method)) return [{ field, message: `Method ${JSON.stringify(ref.method)} is not known (known: ${methodNames().join(', ')}).` }];
  const out: SettingsProblem[] = [];
  if (typeof ref.name !== 'string' || ref.name.trim() === '') out.push({ field: `${field}.name`, message: `A ${ref.method} entry needs a name for the results.` });
  const blank = methodOptionSpecs(ref.method).filter((o) => typeof ref.options[o.key] === 'number' && !Number.isFinite(ref.options[o.key]));
  for (const o of blank) out.push({ field: `${field}.${o.key}`, message: `${label}: ${o.label} (${o.key}) needs a number.` });
  if (blank.length > 0) return out;
  try {
    METHODS[ref.method].create(ref.options);
  } catch (e) {
    const text = (e instanceof Error ? e.message : String(e)).replace(/^method "[^"]*": /, '');
    const key = /^(\w+) must be/.exec(text)?.[1];
    const known = key !== undefined && methodOptionSpecs(ref.method).some((o) => o.key === key);
    out.push({ field: known ? `${field}.${key}` : field, message: `${label}: ${text}.` });
  }
  return out;
}

/** Every problem of the settings, each naming its field, by the rules `parseExperiment` applies to an experiment file. */
export function settingsProblems(s: RunSettings): SettingsProblem[] {
  const out: SettingsProblem[] = [];
  if (s.methods.length === 0) out.push({ field: 'methods', message: 'Pick at least one method.' });
  s.methods.forEach((ref, i) => out.push(...methodProblems(ref, i)));
  const names = s.methods.map((m) => m.name);
  const dups = [...new Set(names.filter((n, i) => n.trim() !== '' && names.indexOf(n) !== i))];
  for (const d of dups) out.push({ field: 'methods', message: `Two methods are named "${d}" in the results; rename one.` });
  if (s.steps !== null && s.epochs !== null) out.push({ field: 'steps', message: 'Give steps per task or epochs, not both.' });
  if (s.steps === null && s.epochs === null) out.push({ field: 'steps', message: 'Steps per task is required.' });
  if (s.epochs !== null && !(Number.isFinite(s.epochs) && s.epochs > 0)) out.push({ field: 'epochs', message: `Epochs must be positive (got ${fmt(s.epochs)}).` });
  for (const spec of SETTING_SPECS) {
    const v = getSetting(s, spec.key);
    if (spec.key === 'steps' && v === null) continue;
    const rule = settingRule(spec, v);
    if (rule && typeof v === 'number' && Number.isNaN(v)) out.push({ field: spec.field, message: `${spec.label} needs a number (${rule}).` });
    else if (rule) out.push({ field: spec.field, message: `${spec.label} must be ${rule} (got ${fmt(v)}).` });
  }
  const targets = s.lora.targets;
  if (targets.length === 0 || !targets.every((t) => PROJ_NAMES.includes(t))) {
    out.push({ field: 'lora.targets', message: `LoRA targets: pick at least one of ${PROJ_NAMES.join(', ')}.` });
  }
  if (typeof s.evaluateUnseen !== 'boolean') out.push({ field: 'evaluateUnseen', message: 'Evaluate unseen tasks must be on or off.' });
  // Combinations of methods and settings that cannot run, as `clora run` refuses them (tasks are checked with the stream).
  for (const p of runProblems({ settings: s, tasks: [] })) {
    if (p.severity === 'error' && !p.field.startsWith('tasks') && !out.some((o) => o.message === p.message)) out.push({ field: p.field, message: p.message });
  }
  return out;
}

/** The settings' problems as messages naming the field; empty when an experiment file with these settings would be accepted. */
export function validateSettings(s: RunSettings): string[] {
  return settingsProblems(s).map((p) => p.message);
}

/** The settings as the fields of an experiment file (what `clora run` reads), for `parseExperiment` or an exported file. */
export function experimentFileFields(s: RunSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {
    methods: s.methods.map((m) => ({ ...m.options, method: m.method, name: m.name })),
    seed: s.seed,
  };
  if (s.steps !== null) out.steps = s.steps;
  if (s.epochs !== null) out.epochs = s.epochs;
  Object.assign(out, {
    batchSize: s.batchSize,
    lr: s.lr,
    maxLength: s.maxLength,
    maxNewTokens: s.maxNewTokens,
    lora: { rank: s.lora.rank, alpha: s.lora.alpha, dropout: s.lora.dropout, targets: [...s.lora.targets] },
    evaluateUnseen: s.evaluateUnseen,
    testFraction: s.testFraction,
  });
  if (s.maxTrain !== null) out.maxTrain = s.maxTrain;
  if (s.maxTest !== null) out.maxTest = s.maxTest;
  if (s.recompute !== undefined) out.recompute = s.recompute;
  if (s.memoryBudgetMiB !== undefined) out.memoryBudgetMiB = s.memoryBudgetMiB;
  return out;
}
