// The checks a run passes before it starts, shared by the app's Run panel and `clora run`: combinations of
// tasks, methods and settings that each parse on their own but cannot run (or would run without doing what
// they say) are refused up front, each with the field it concerns and what to change.
import type { Experiment } from './experiment.ts';
import type { ModelConfig } from '../model/config.ts';
import { projDims } from '../model/memory-estimate.ts';
import { RESERVED_PREFIX } from './storage.ts';

/** What the checks look at: the settings of an experiment and, where known, what each task holds. */
export interface RunCheckInput {
  settings: Pick<Experiment, 'methods' | 'batchSize' | 'evaluateUnseen'>;
  /** The stream in order; `train`/`test` are the example counts a run will use, when already read. */
  tasks: readonly { name: string; source?: string; train?: number; test?: number }[];
}

/**
 * One finding. 'error': the run cannot start (or would silently not do what it says); 'note': it runs, and
 * something the user may expect is missing (a metric left empty).
 */
export interface RunProblem {
  severity: 'error' | 'note';
  /** The field as an experiment file names it ("tasks[2].name", "methods[1]", "batchSize"). */
  field: string;
  message: string;
}

/** Names a run keeps at the top of its folder, which a method's folder must not take. */
const RESERVED = ['results.json', 'run.json', 'tasks.json', 'files'];

/** Why `name` cannot be a folder of a run's storage (tasks name adapter and replay files, methods name folders), or null. */
export function folderNameProblem(name: string): string | null {
  if (name.trim() === '') return 'is empty';
  if (name === '.' || name === '..') return `cannot be "${name}"`;
  if (/[/\\\0]/.test(name)) return 'contains a slash, a backslash or a NUL character';
  if (/[\x00-\x1f\x7f]/.test(name)) return 'contains a control character (a tab, a line break)';
  if (name.startsWith(RESERVED_PREFIX)) return `starts with "${RESERVED_PREFIX}", which the run's storage keeps for itself`;
  return null;
}

/** Why `name` cannot name a method's results (its folder, beside the run's own files), or null. */
export function resultNameProblem(name: string): string | null {
  return folderNameProblem(name) ?? (RESERVED.includes(name.toLowerCase()) ? "is taken by the run's own files" : null);
}

/** Methods whose batches mix in stored samples, which needs at least one row besides the new data. */
const MIXES_STORED_ROWS = ['replay', 'conpet-static'];

/** Every problem of a run's combination of tasks, methods and settings; empty when it can start. */
export function runProblems({ settings, tasks }: RunCheckInput): RunProblem[] {
  const out: RunProblem[] = [];
  const error = (field: string, message: string) => out.push({ severity: 'error', field, message });
  if (tasks.length === 0) error('tasks', 'Add at least one task.');
  const seen = new Map<string, number>();
  tasks.forEach((t, i) => {
    const label = `Task ${i + 1} ("${t.name}"${t.source && t.source !== t.name ? `, ${t.source}` : ''})`;
    const bad = folderNameProblem(t.name);
    if (bad) error(`tasks[${i}].name`, `${label}: its name ${bad}; results and adapters are stored under the task's name, so rename it.`);
    // Names alike but for case are one folder on macOS and Windows.
    const first = seen.get(t.name.toLowerCase());
    if (first !== undefined) error(`tasks[${i}].name`, `Tasks ${first + 1} and ${i + 1} are both named "${t.name}"${tasks[first].name !== t.name ? ` (as "${tasks[first].name}" and "${t.name}", one folder where case is ignored)` : ''}; results and adapters are stored by task name, so rename one.`);
    else seen.set(t.name.toLowerCase(), i);
    if (t.train === 0) error(`tasks[${i}]`, `${label} has no training examples; give it more data or lower the test fraction.`);
    if (t.test === 0) error(`tasks[${i}]`, `${label} has no test examples; give it a test split or raise the test fraction.`);
  });
  settings.methods.forEach((m, i) => {
    const bad = resultNameProblem(m.name);
    if (bad) error(`methods[${i}].name`, `Method "${m.name}": its result name ${bad}; each method's files go in a folder of that name, so rename it.`);
    if (MIXES_STORED_ROWS.includes(m.method) && settings.batchSize < 2) {
      error('batchSize', `${m.name} mixes stored samples of earlier tasks into every batch beside new ones, which needs at least 2 rows; set the batch size to 2 or more.`);
    }
  });
  const hasOracle = settings.methods.some((m) => m.method === 'oracle');
  if (tasks.length > 0 && !hasOracle && settings.methods.some((m) => m.method !== 'mtl')) {
    out.push({ severity: 'note', field: 'methods', message: 'FWT compares each task with a LoRA trained on it alone: add the oracle to get it (without it FWT stays empty).' });
  }
  return out;
}

/** The errors among `runProblems`, as one Error listing them all (for `clora run` and the runner); nothing when there are none. */
export function assertRunnable(input: RunCheckInput, where: string): void {
  const errors = runProblems(input).filter((p) => p.severity === 'error');
  if (errors.length === 0) return;
  throw new Error(`${where}: the run cannot start:\n${errors.map((p) => `  - ${p.field}: ${p.message}`).join('\n')}`);
}

/**
 * Settings that parse but do not fit the model: a LoRA rank above a target projection's smaller side (its update
 * could not have that rank; such a run only spends time and memory), or prompts plus answers longer than the
 * model's positions. Known only once the model's config is read, so the runner checks them before training.
 */
export function modelProblems(settings: Pick<Experiment, 'lora' | 'maxLength' | 'maxNewTokens'>, config: ModelConfig): RunProblem[] {
  const out: RunProblem[] = [];
  const dims = projDims(config);
  const limits = settings.lora.targets.map((t) => ({ target: t, side: Math.min(...dims[t]) }));
  const tightest = limits.reduce((a, b) => (b.side < a.side ? b : a), limits[0]);
  if (tightest && settings.lora.rank > tightest.side) {
    out.push({ severity: 'error', field: 'lora.rank', message: `rank ${settings.lora.rank} is above ${tightest.target}'s smaller dimension (${dims[tightest.target].join(' x ')}) in this model; set "lora.rank" to at most ${tightest.side} (ranks of 4 to 64 are usual).` });
  }
  const positions = config.maxPositionEmbeddings;
  if (settings.maxLength + settings.maxNewTokens > positions) {
    out.push({ severity: 'error', field: settings.maxNewTokens > positions ? 'maxNewTokens' : 'maxLength', message: `maxLength (${settings.maxLength}) plus maxNewTokens (${settings.maxNewTokens}) is ${settings.maxLength + settings.maxNewTokens} tokens, more than this model's ${positions} positions (max_position_embeddings); lower them so that they add up to at most ${positions}.` });
  }
  return out;
}

/** `modelProblems` as one Error naming the experiment (or run folder) and every field to change; nothing when the settings fit. */
export function assertFitsModel(settings: Pick<Experiment, 'lora' | 'maxLength' | 'maxNewTokens'>, config: ModelConfig, where: string): void {
  const errors = modelProblems(settings, config);
  if (errors.length === 0) return;
  throw new Error(`${where}: the run cannot start with this model:\n${errors.map((p) => `  - ${p.field}: ${p.message}`).join('\n')}`);
}
