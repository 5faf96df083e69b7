// The experiment file of `clora run`: the model, the task stream in order, the methods with their
// hyperparameters, and the shared training settings, validated with errors that name the field.
import type { ProjName } from '../model/peft.ts';
import { PROJ_NAMES } from '../model/peft.ts';
import { DEFAULT_PROMPT_DATE, parsePromptDate } from '../model/chat-template.ts';
import type { ChatSettings } from '../data/prompt.ts';
import type { ColumnMap } from '../data/parse.ts';
import { METHODS } from './methods/index.ts';
import { folderNameProblem } from './run-checks.ts';
import type { MethodOptions } from './methods/method.ts';

export interface TaskRef {
  /** A data file (one task) or a benchmark folder with train/dev/test JSON (one task). */
  path: string;
  name?: string;
  instruction?: string;
  columns?: ColumnMap;
}

export interface MethodRef {
  method: string;
  /** Label in results (default: the method name); lets one method run with two settings. */
  name: string;
  options: MethodOptions;
}

export interface Experiment {
  /** The model folder (relative to the file) or Hub id; null when the file names none (the CLI then uses the bundled demo model). */
  model: string | null;
  tasks: TaskRef[];
  methods: MethodRef[];
  seed: number;
  /** Optimizer steps per task; or epochs over each task's training split. */
  steps: number | null;
  epochs: number | null;
  batchSize: number;
  lr: number;
  /** Longest prompt + answer in tokens (a longer example loses the end of its input: see encodeTaskExample). */
  maxLength: number;
  maxNewTokens: number;
  lora: { rank: number; alpha: number; dropout: number; targets: ProjName[] };
  /** Also evaluate tasks not yet trained on after each task (the upper triangle of the matrix). */
  evaluateUnseen: boolean;
  testFraction: number;
  maxTrain: number | null;
  maxTest: number | null;
  /**
   * Layer recomputation in the backward pass (less memory, about one more forward pass of time): 'auto' turns it
   * on when a training step's estimated GPU memory exceeds `memoryBudgetMiB` ('auto': a budget derived from the device,
   * src/model/memory-estimate.ts deviceMemoryBudget). parseExperiment always fills both; settings stored before they
   * existed lack them (the defaults apply).
   */
  recompute?: 'auto' | boolean;
  memoryBudgetMiB?: number | 'auto';
  /**
   * Chat-template settings: Qwen3's thinking block (off unless asked for) and the date templates that ask for one
   * (strftime_now) are given, so a run's prompts never depend on the day. parseExperiment fills both.
   */
  chat?: ChatSettings;
}

export const EXPERIMENT_DEFAULTS = {
  seed: 0, batchSize: 8, lr: 2e-4, maxLength: 256, maxNewTokens: 16, evaluateUnseen: false, testFraction: 0.2,
  lora: { rank: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'] as ProjName[] },
  recompute: 'auto' as const, memoryBudgetMiB: 'auto' as number | 'auto',
};

/** The memory budget in bytes of an experiment's memoryBudgetMiB, as MemoryPolicy.budgetBytes takes it. */
export function budgetBytesOf(mib: number | 'auto' | undefined): number | 'auto' {
  const v = mib ?? EXPERIMENT_DEFAULTS.memoryBudgetMiB;
  return v === 'auto' ? 'auto' : v * 2 ** 20;
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => x !== null && typeof x === 'object' && !Array.isArray(x);

const KNOWN = ['model', 'tasks', 'methods', 'seed', 'steps', 'epochs', 'batchSize', 'lr', 'maxLength', 'maxNewTokens', 'lora',
  'evaluateUnseen', 'testFraction', 'maxTrain', 'maxTest', 'recompute', 'memoryBudgetMiB', 'description', 'chat'];

/** Validates a parsed experiment file; `file` names it in errors. */
export function parseExperiment(json: unknown, file: string): Experiment {
  const fail = (field: string, problem: string): never => {
    throw new Error(`${file}: "${field}" ${problem}`);
  };
  if (!isObject(json)) throw new Error(`${file}: an experiment must be a JSON object`);
  for (const key of Object.keys(json)) if (!KNOWN.includes(key)) fail(key, `is not a known field (known: ${KNOWN.join(', ')})`);
  const int = (field: string, v: unknown, min: number): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(field, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const num = (field: string, v: unknown, ok: (n: number) => boolean, rule: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) fail(field, `must be ${rule}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  if (json.model !== undefined && (typeof json.model !== 'string' || json.model.length === 0)) fail('model', 'must name a model folder or a Hugging Face id org/name[@revision] (or be left out for the bundled demo model)');
  if (!Array.isArray(json.tasks) || json.tasks.length === 0) fail('tasks', 'must be a non-empty list of task files or folders');
  const tasks = (json.tasks as unknown[]).map((t, i): TaskRef => {
    if (typeof t === 'string') return { path: t };
    if (!isObject(t) || typeof t.path !== 'string') return fail(`tasks[${i}]`, 'must be a path or {"path", "name"?, "instruction"?, "columns"?}');
    for (const key of Object.keys(t)) if (!['path', 'name', 'instruction', 'columns'].includes(key)) fail(`tasks[${i}].${key}`, 'is not a task field (path, name, instruction, columns)');
    const ref: TaskRef = { path: t.path as string };
    if (t.name !== undefined) {
      const bad = typeof t.name === 'string' ? folderNameProblem(t.name) : 'is not a string';
      if (bad) fail(`tasks[${i}].name`, `${bad}: results and adapters are stored under the task's name, so give a plain name such as "sentiment", got ${JSON.stringify(t.name)}`);
      ref.name = t.name as string;
    }
    if (t.instruction !== undefined) {
      if (typeof t.instruction !== 'string') fail(`tasks[${i}].instruction`, `must be a string, got ${JSON.stringify(t.instruction)}`);
      ref.instruction = t.instruction as string;
    }
    if (t.columns !== undefined) {
      if (!isObject(t.columns)) fail(`tasks[${i}].columns`, 'must map input/output/instruction to column names');
      ref.columns = t.columns as ColumnMap;
    }
    return ref;
  });
  if (!Array.isArray(json.methods) || json.methods.length === 0) fail('methods', `must list methods (known: ${Object.keys(METHODS).join(', ')})`);
  const methods = (json.methods as unknown[]).map((m, i): MethodRef => {
    const spec = typeof m === 'string' ? { method: m } : m;
    if (!isObject(spec) || typeof spec.method !== 'string') return fail(`methods[${i}]`, 'must be a method name or {"method": name, ...options}');
    const method = spec.method as string;
    if (!METHODS[method]) fail(`methods[${i}]`, `names unknown method "${method}" (known: ${Object.keys(METHODS).join(', ')})`);
    if (spec.name !== undefined && (typeof spec.name !== 'string' || spec.name.length === 0)) fail(`methods[${i}].name`, 'must be a non-empty string');
    const name = typeof spec.name === 'string' ? spec.name : method;
    const options: MethodOptions = { ...spec };
    delete options.method;
    delete options.name;
    try {
      METHODS[method].create(options); // validates the options now, before any training
    } catch (e) {
      fail(`methods[${i}]`, e instanceof Error ? e.message : String(e));
    }
    return { method, name, options };
  });
  const names = methods.map((m) => m.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) fail('methods', `lists "${dup}" twice; give one of them a distinct "name"`);
  if (json.steps !== undefined && json.epochs !== undefined) fail('steps', 'and "epochs" cannot both be given');
  const steps = json.steps !== undefined ? int('steps', json.steps, 1) : null;
  const epochs = json.epochs !== undefined ? num('epochs', json.epochs, (v) => v > 0, 'positive') : null;
  if (steps === null && epochs === null) fail('steps', 'or "epochs" is required');
  const loraIn = json.lora === undefined ? {} : json.lora;
  if (!isObject(loraIn)) fail('lora', 'must be an object {rank, alpha, dropout, targets}');
  const l = loraIn as Json;
  for (const key of Object.keys(l)) if (!['rank', 'alpha', 'dropout', 'targets'].includes(key)) fail(`lora.${key}`, 'is not a LoRA setting (rank, alpha, dropout, targets)');
  if (json.evaluateUnseen !== undefined && typeof json.evaluateUnseen !== 'boolean') fail('evaluateUnseen', 'must be true or false');
  if (json.recompute !== undefined && json.recompute !== 'auto' && typeof json.recompute !== 'boolean') fail('recompute', `must be "auto", true or false, got ${JSON.stringify(json.recompute)}`);
  const targets = l.targets === undefined ? EXPERIMENT_DEFAULTS.lora.targets : l.targets;
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => PROJ_NAMES.includes(t as ProjName))) {
    fail('lora.targets', `must list projections among ${PROJ_NAMES.join(', ')}`);
  }
  const chatIn = json.chat === undefined ? {} : json.chat;
  if (!isObject(chatIn)) fail('chat', 'must be an object {enableThinking, date}');
  const ch = chatIn as Json;
  for (const key of Object.keys(ch)) if (!['enableThinking', 'date'].includes(key)) fail(`chat.${key}`, 'is not a chat setting (enableThinking, date)');
  if (ch.enableThinking !== undefined && typeof ch.enableThinking !== 'boolean') fail('chat.enableThinking', 'must be true or false');
  if (ch.date !== undefined) {
    try {
      parsePromptDate(String(ch.date));
    } catch {
      fail('chat.date', `must be a YYYY-MM-DD date, got ${JSON.stringify(ch.date)}`);
    }
  }
  return {
    model: (json.model as string | undefined) ?? null,
    tasks,
    methods,
    seed: json.seed === undefined ? EXPERIMENT_DEFAULTS.seed : int('seed', json.seed, 0),
    steps,
    epochs,
    batchSize: json.batchSize === undefined ? EXPERIMENT_DEFAULTS.batchSize : int('batchSize', json.batchSize, 1),
    lr: json.lr === undefined ? EXPERIMENT_DEFAULTS.lr : num('lr', json.lr, (v) => v > 0, 'positive'),
    maxLength: json.maxLength === undefined ? EXPERIMENT_DEFAULTS.maxLength : int('maxLength', json.maxLength, 4),
    maxNewTokens: json.maxNewTokens === undefined ? EXPERIMENT_DEFAULTS.maxNewTokens : int('maxNewTokens', json.maxNewTokens, 1),
    lora: {
      rank: l.rank === undefined ? EXPERIMENT_DEFAULTS.lora.rank : int('lora.rank', l.rank, 1),
      alpha: l.alpha === undefined ? EXPERIMENT_DEFAULTS.lora.alpha : num('lora.alpha', l.alpha, (v) => v > 0, 'positive'),
      dropout: l.dropout === undefined ? EXPERIMENT_DEFAULTS.lora.dropout : num('lora.dropout', l.dropout, (v) => v >= 0 && v < 1, 'in [0, 1)'),
      targets: [...(targets as ProjName[])],
    },
    evaluateUnseen: json.evaluateUnseen === true,
    testFraction: json.testFraction === undefined ? EXPERIMENT_DEFAULTS.testFraction
      : num('testFraction', json.testFraction, (v) => v > 0 && v < 1, 'in (0, 1)'),
    maxTrain: json.maxTrain === undefined ? null : int('maxTrain', json.maxTrain, 1),
    maxTest: json.maxTest === undefined ? null : int('maxTest', json.maxTest, 1),
    recompute: (json.recompute as Experiment['recompute'] | undefined) ?? EXPERIMENT_DEFAULTS.recompute,
    memoryBudgetMiB: json.memoryBudgetMiB === undefined || json.memoryBudgetMiB === 'auto' ? EXPERIMENT_DEFAULTS.memoryBudgetMiB
      : num('memoryBudgetMiB', json.memoryBudgetMiB, (v) => v > 0, 'positive or "auto"'),
    chat: { enableThinking: ch.enableThinking === true, date: ch.date === undefined ? DEFAULT_PROMPT_DATE : String(ch.date) },
  };
}
