// The experiment file of `clora run`: the model, the task stream in order, the methods with their
// hyperparameters, and the shared training settings, validated with errors that name the field.
import type { ProjName } from '../model/peft.ts';
import { PROJ_NAMES } from '../model/peft.ts';
import { DEFAULT_PROMPT_DATE, parsePromptDate } from '../model/chat-template.ts';
import type { ChatSettings } from '../data/prompt.ts';
import type { ColumnMap } from '../data/parse.ts';
import { METHODS } from './methods/index.ts';
import { folderNameProblem, resultNameProblem } from './run-checks.ts';
import { closestName, didYouMean } from '../io/closest-name.ts';
import { describe, preview } from '../io/value-preview.ts';
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
const TASK_FIELDS = ['path', 'name', 'instruction', 'columns'];
const COLUMN_ROLES = ['input', 'output', 'instruction'] as const;
const LORA_FIELDS = ['rank', 'alpha', 'dropout', 'targets'];
const CHAT_FIELDS = ['enableThinking', 'date'];
/** Names people reach for that mean a known field under another name. */
const ALIASES: Record<string, string> = {
  learningrate: 'lr', learning_rate: 'lr', batch: 'batchSize', batch_size: 'batchSize', epoch: 'epochs', data: 'tasks', datasets: 'tasks',
  method: 'methods', maxtrainexamples: 'maxTrain', maxtestexamples: 'maxTest', max_seq_length: 'maxLength', seqlen: 'maxLength',
};

/** `; did you mean ...?` for a mistyped field: a known one by spelling or alias, or a LoRA or chat setting put at the top level. */
function fieldHint(key: string, known: readonly string[], nested?: Record<string, readonly string[]>): string {
  const alias = ALIASES[key.toLowerCase()];
  if (alias && known.includes(alias)) return `; did you mean "${alias}"?`;
  for (const [parent, fields] of Object.entries(nested ?? {})) {
    const near = closestName(key, fields);
    if (near !== null) return `; did you mean "${parent}": {"${near}": ...}?`;
  }
  return didYouMean(key, known);
}

/** Validates a parsed experiment file; `file` names it in errors. Every error names the field and what it must be. */
export function parseExperiment(json: unknown, file: string): Experiment {
  const fail = (field: string, problem: string): never => {
    throw new Error(`${file}: "${field}" ${problem}`);
  };
  if (!isObject(json)) throw new Error(`${file}: an experiment must be a JSON object {"tasks": [...], "methods": [...], "steps": N, ...}, got ${describe(json)}`);
  const onlyKnown = (obj: Json, prefix: string, known: readonly string[], what: string, nested?: Record<string, readonly string[]>) => {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) fail(`${prefix}${key}`, `is not ${what}${fieldHint(key, known, nested)} (known: ${known.join(', ')})`);
    }
  };
  onlyKnown(json, '', KNOWN, 'a known field', { lora: LORA_FIELDS, chat: CHAT_FIELDS });
  const int = (field: string, v: unknown, min: number): number => {
    if (Number.isInteger(v) && !Number.isSafeInteger(v)) fail(field, `must be an integer from ${min} to ${Number.MAX_SAFE_INTEGER}, got ${describe(v)}`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(field, `must be an integer >= ${min}, got ${describe(v)}`);
    return v as number;
  };
  const num = (field: string, v: unknown, ok: (n: number) => boolean, rule: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, `must be a number (${rule}), got ${describe(v)}`);
    if (!ok(v as number)) fail(field, `must be ${rule}, got ${describe(v)}`);
    return v as number;
  };
  const bool = (field: string, v: unknown): boolean | undefined => {
    if (v !== undefined && typeof v !== 'boolean') fail(field, `must be true or false, got ${describe(v)}`);
    return v as boolean | undefined;
  };
  if (json.model !== undefined && (typeof json.model !== 'string' || json.model.trim().length === 0)) {
    fail('model', `must name a model folder or a Hugging Face id org/name[@revision] (or be left out for the bundled demo model), got ${describe(json.model)}`);
  }
  if (json.description !== undefined && typeof json.description !== 'string') fail('description', `must be a string, got ${describe(json.description)}`);
  if (!Array.isArray(json.tasks) || json.tasks.length === 0) fail('tasks', `must be a non-empty list of task files or folders, got ${describe(json.tasks)}`);
  const tasks = (json.tasks as unknown[]).map((t, i): TaskRef => {
    const field = `tasks[${i}]`;
    const checkPath = (path: unknown, at: string): string => {
      if (typeof path !== 'string') return fail(at, `must be the path of a task file or folder (a string), got ${describe(path)}`);
      if (path.trim() === '') fail(at, 'is an empty path; give a task file or folder, relative to the experiment file');
      if (path.includes('\0')) fail(at, 'contains a NUL character');
      return path;
    };
    if (typeof t === 'string') return { path: checkPath(t, field) };
    if (!isObject(t)) return fail(field, `must be a path or {"path", "name"?, "instruction"?, "columns"?}, got ${describe(t)}`);
    onlyKnown(t, `${field}.`, TASK_FIELDS, 'a task field');
    if (t.path === undefined) fail(field, 'must be a path or {"path", "name"?, "instruction"?, "columns"?}: "path" is missing');
    const ref: TaskRef = { path: checkPath(t.path, `${field}.path`) };
    if (t.name !== undefined) {
      const bad = typeof t.name === 'string' ? folderNameProblem(t.name) : 'is not a string';
      if (bad) fail(`${field}.name`, `${bad}: results and adapters are stored under the task's name, so give a plain name such as "sentiment", got ${describe(t.name)}`);
      ref.name = t.name as string;
    }
    if (t.instruction !== undefined) {
      if (typeof t.instruction !== 'string') fail(`${field}.instruction`, `must be a string, got ${describe(t.instruction)}`);
      ref.instruction = t.instruction as string;
    }
    if (t.columns !== undefined) ref.columns = parseColumns(t.columns, `${field}.columns`, fail);
    return ref;
  });
  const known = Object.keys(METHODS);
  if (!Array.isArray(json.methods) || json.methods.length === 0) fail('methods', `must list methods (known: ${known.join(', ')}), got ${describe(json.methods)}`);
  const methods = (json.methods as unknown[]).map((m, i): MethodRef => {
    const spec = typeof m === 'string' ? { method: m } : m;
    if (!isObject(spec) || typeof spec.method !== 'string') return fail(`methods[${i}]`, `must be a method name or {"method": name, ...options}, got ${describe(m)}`);
    const method = spec.method as string;
    if (!Object.hasOwn(METHODS, method)) fail(`methods[${i}]`, `names unknown method ${preview(method)}${didYouMean(method, known)} (known: ${known.join(', ')})`);
    if (spec.name !== undefined) {
      const bad = typeof spec.name === 'string' ? resultNameProblem(spec.name) : 'is not a string';
      if (bad) fail(`methods[${i}].name`, `${bad}: each method's files go in a folder of that name, so give a plain name such as "${method}-2", got ${describe(spec.name)}`);
    }
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
  // Folders named alike but for case are one folder on macOS and Windows.
  const names = methods.map((m) => m.name.toLowerCase());
  const dup = names.findIndex((n, i) => names.indexOf(n) !== i);
  if (dup >= 0) fail('methods', `lists "${methods[dup].name}" twice${methods[names.indexOf(names[dup])].name !== methods[dup].name ? ` (as "${methods[names.indexOf(names[dup])].name}" and "${methods[dup].name}", one folder where case is ignored)` : ''}; give one of them a distinct "name"`);
  if (json.steps !== undefined && json.epochs !== undefined) fail('steps', 'and "epochs" cannot both be given');
  const steps = json.steps !== undefined ? int('steps', json.steps, 1) : null;
  const epochs = json.epochs !== undefined ? num('epochs', json.epochs, (v) => v > 0, 'positive') : null;
  if (steps === null && epochs === null) fail('steps', 'or "epochs" is required');
  const loraIn = json.lora === undefined ? {} : json.lora;
  if (!isObject(loraIn)) fail('lora', `must be an object {rank, alpha, dropout, targets}, got ${describe(loraIn)}`);
  const l = loraIn as Json;
  onlyKnown(l, 'lora.', LORA_FIELDS, 'a LoRA setting');
  bool('evaluateUnseen', json.evaluateUnseen);
  if (json.recompute !== undefined && json.recompute !== 'auto' && typeof json.recompute !== 'boolean') fail('recompute', `must be "auto", true or false, got ${describe(json.recompute)}`);
  const targets = l.targets === undefined ? EXPERIMENT_DEFAULTS.lora.targets : l.targets;
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => PROJ_NAMES.includes(t as ProjName))) {
    const wrong = Array.isArray(targets) ? targets.find((t) => !PROJ_NAMES.includes(t as ProjName)) : undefined;
    const hint = typeof wrong === 'string' ? didYouMean(wrong, PROJ_NAMES) : '';
    fail('lora.targets', `must list projections among ${PROJ_NAMES.join(', ')}, got ${describe(targets)}${hint}`);
  }
  if (new Set(targets as string[]).size !== (targets as string[]).length) fail('lora.targets', `lists a projection twice, got ${describe(targets)}`);
  const chatIn = json.chat === undefined ? {} : json.chat;
  if (!isObject(chatIn)) fail('chat', `must be an object {enableThinking, date}, got ${describe(chatIn)}`);
  const ch = chatIn as Json;
  onlyKnown(ch, 'chat.', CHAT_FIELDS, 'a chat setting');
  bool('chat.enableThinking', ch.enableThinking);
  if (ch.date !== undefined) {
    try {
      if (typeof ch.date !== 'string') throw new Error('not a string');
      parsePromptDate(ch.date);
    } catch {
      fail('chat.date', `must be a YYYY-MM-DD date, got ${describe(ch.date)}`);
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

/** A task's "columns": which field or column of its file holds each role, each a non-empty name. */
function parseColumns(value: unknown, field: string, fail: (field: string, problem: string) => never): ColumnMap {
  const shape = '{"input"?: name, "output"?: name, "instruction"?: name} naming fields or columns of the task file';
  if (!isObject(value)) return fail(field, `must map input/output/instruction to column names: ${shape}, got ${describe(value)}`);
  const out: ColumnMap = {};
  for (const [role, name] of Object.entries(value)) {
    if (!(COLUMN_ROLES as readonly string[]).includes(role)) {
      const meant = ({ label: 'output', answer: 'output', target: 'output', text: 'input', prompt: 'input' } as Record<string, string>)[role.toLowerCase()];
      fail(`${field}.${role}`, `is not a role${meant ? `; did you mean "${meant}"?` : didYouMean(role, COLUMN_ROLES)} (columns maps ${COLUMN_ROLES.join(', ')} to names in the file: ${shape})`);
    }
    if (typeof name !== 'string' || name.trim() === '') fail(`${field}.${role}`, `must be the name of a field or column of the task file (a non-empty string), got ${describe(name)}`);
    out[role as (typeof COLUMN_ROLES)[number]] = name as string;
  }
  return out;
}
