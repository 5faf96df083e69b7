// The experiment file `clora run` reads, in and out of the app: a stored run exported as a zip of experiment.json with
// its task files (and a small picked model) at relative paths, and an experiment file imported with its task files from
// a dropped folder or a zip, its paths resolved relative to it as the CLI resolves them.
import { strToU8, unzipSync, zipSync } from 'fflate';
import { parseExperiment, type Experiment, type TaskRef } from '../cl/experiment.ts';
import { readJsonFile, type RunStorage } from '../cl/storage.ts';
import { baseName, stemOf } from '../data/byte-source.ts';
import type { TaskInput } from '../data/inspect.ts';
import { parseJson, type PathedFile } from '../io/files.ts';
import { fileSlug } from '../report/tables.ts';
import { MODEL_INFO, type CachedModelInfo } from './model-store.ts';
import type { RunRecord, RunSettings } from './run-job.ts';
import { taskFilePath, type StoredTask } from './task-files.ts';

/** The experiment file's name in an export. */
export const EXPERIMENT_FILE = 'experiment.json';

/** A picked model of at most this many bytes travels inside the export (under model/); a larger one is named only. */
export const EXPORT_MODEL_MAX_BYTES = 128 << 20;

/** What `model` an experiment file gives for a run's model, and the model's files when they travel with it. */
interface ExportedModel {
  model: string | null;
  files: Record<string, Uint8Array>;
  note: string | null;
}

/** The bundled model a URL points at (…/models/<name>/), or null. */
export function bundledName(url: string): string | null {
  return /\/models\/([^/]+)\/?$/.exec(new URL(url, 'http://x/').pathname)?.[1] ?? null;
}

/**
 * The run's model as an experiment names it: the bundled demo model is the CLI's default (no "model"), another bundled
 * model goes by its name (`clora run` knows the bundled models), a Hub model by repo@commit, and a picked model's files
 * go into the zip when small enough.
 */
async function exportedModel(root: RunStorage, record: RunRecord): Promise<ExportedModel> {
  const m = record.model;
  if (m.kind === 'bundled') {
    const name = bundledName(m.url);
    return { model: name === null || name === 'demo' ? null : name, files: {}, note: null };
  }
  if (m.kind === 'hub') return { model: `${m.repo}@${m.revision}`, files: {}, note: null };
  if (m.kind === 'cached') {
    const info = await readJsonFile<CachedModelInfo>(root, `models/${m.id}/${MODEL_INFO}`);
    const hub = info ? /^hub:([^@]+)@([0-9a-f]{40})$/.exec(info.origin) : null;
    if (hub) return { model: `${hub[1]}@${hub[2]}`, files: {}, note: null };
    if (info && info.bytes <= EXPORT_MODEL_MAX_BYTES) {
      const files: Record<string, Uint8Array> = {};
      for (const name of info.files) {
        const data = await root.read(`models/${m.id}/${name}`);
        if (data === null) throw new Error(`the run's model ${info.label} lost its file ${name}`);
        files[`model/${name}`] = data;
      }
      return { model: 'model', files, note: null };
    }
    const label = info?.label ?? record.modelLabel;
    return { model: label, files: {}, note: `The model (${label}) is too large to travel in the zip: put its folder next to ${EXPERIMENT_FILE} as ${label}/.` };
  }
  return { model: record.modelLabel, files: {}, note: `Put the model's folder next to ${EXPERIMENT_FILE} as ${record.modelLabel}/.` };
}

/** Where each stored task's files go in the export: tasks/<file> or tasks/<folder>/<file>, a numbered folder on a clash. */
export function exportedTaskPaths(tasks: readonly StoredTask[]): { path: string; files: string[] }[] {
  const taken = new Set<string>();
  return tasks.map((t, i) => {
    const own = t.kind === 'benchmark' ? baseName(t.folder ?? t.name) : null;
    const names = t.files.map((f) => baseName(f.name));
    const fits = (dir: string) => (own === null ? [`${dir}/${names[0]}`] : names.map((n) => `${dir}/${own}/${n}`));
    let dir = 'tasks';
    if (fits(dir).some((p) => taken.has(p)) || (own !== null && taken.has(`${dir}/${own}`))) dir = `tasks/${i + 1}`;
    const files = fits(dir);
    for (const p of files) taken.add(p);
    if (own !== null) taken.add(`${dir}/${own}`);
    return { path: own === null ? files[0] : `${dir}/${own}`, files };
  });
}

/** The experiment file of a run's settings, model and task paths, in the order and with the fields parseExperiment reads. */
export function experimentJson(settings: RunSettings, model: string | null, tasks: { path: string; task: StoredTask }[], description: string): Record<string, unknown> {
  const s = settings;
  const out: Record<string, unknown> = { description };
  if (model !== null) out.model = model;
  out.tasks = tasks.map(({ path, task }) => {
    const ref: Record<string, unknown> = { path, name: task.name };
    if (task.instruction?.trim()) ref.instruction = task.instruction.trim();
    if (task.columns) ref.columns = task.columns;
    return ref;
  });
  out.methods = s.methods.map((m) => ({ method: m.method, name: m.name, ...m.options }));
  out.seed = s.seed;
  if (s.steps !== null) out.steps = s.steps;
  else out.epochs = s.epochs;
  Object.assign(out, { batchSize: s.batchSize, lr: s.lr, maxLength: s.maxLength, maxNewTokens: s.maxNewTokens, lora: s.lora, evaluateUnseen: s.evaluateUnseen, testFraction: s.testFraction });
  if (s.maxTrain !== null) out.maxTrain = s.maxTrain;
  if (s.maxTest !== null) out.maxTest = s.maxTest;
  if (s.recompute !== undefined) out.recompute = s.recompute;
  if (s.memoryBudgetMiB !== undefined) out.memoryBudgetMiB = s.memoryBudgetMiB;
  if (s.chat !== undefined) out.chat = s.chat;
  return out;
}

/** A stored run as the zip `clora run` takes once unpacked: experiment.json, tasks/… and, for a small picked model, model/…. */
export async function exportRun(root: RunStorage, record: RunRecord): Promise<{ fileName: string; bytes: Uint8Array; note: string | null }> {
  if (!record.taskFiles) throw new Error(`the run “${record.title}” was stored before runs kept their task files, so it cannot be exported; run it again from its files`);
  const places = exportedTaskPaths(record.taskFiles);
  const entries: Record<string, Uint8Array> = {};
  for (const [i, t] of record.taskFiles.entries()) {
    for (const [j, f] of t.files.entries()) {
      const data = await root.read(taskFilePath(f.sha256));
      if (data === null) throw new Error(`the run “${record.title}” lost the file ${f.name} of its task "${t.name}"`);
      entries[places[i].files[j]] = data;
    }
  }
  const model = await exportedModel(root, record);
  Object.assign(entries, model.files);
  const description = `${record.title}: exported from the clora app (run ${record.id}).${model.note ? ` ${model.note}` : ''}`;
  const json = experimentJson(record.settings, model.model, record.taskFiles.map((task, i) => ({ path: places[i].path, task })), description);
  entries[EXPERIMENT_FILE] = strToU8(JSON.stringify(json, null, 2) + '\n');
  return { fileName: `${fileSlug(record.title || record.id)}.zip`, bytes: zipSync(entries, { level: 6 }), note: model.note };
}

/** What an imported experiment puts into the form. */
export interface ImportedExperiment {
  /** The experiment file's path within the drop or zip. */
  file: string;
  title: string;
  /** What the file names as its model (null: the bundled demo model). */
  model: string | null;
  settings: RunSettings;
  tasks: TaskInput[];
}

/** A zip's files (folders left out) as pathed Files. */
export function unzipFiles(bytes: Uint8Array, zipName: string): PathedFile[] {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new Error(`${zipName}: not a readable zip file (${e instanceof Error ? e.message : String(e)})`);
  }
  return Object.entries(entries)
    .filter(([path]) => !path.endsWith('/') && !path.startsWith('__MACOSX/'))
    .map(([path, data]) => ({ path, file: new File([data as Uint8Array<ArrayBuffer>], baseName(path)) }));
}

const normal = (p: string): string => p.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, '');
const dirOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

/** `rel` resolved against the folder `dir`, both '/'-separated; null when it climbs out of the top. */
export function joinRelative(dir: string, rel: string): string | null {
  const out: string[] = dir === '' ? [] : dir.split('/');
  for (const seg of rel.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else {
      out.push(seg);
    }
  }
  return out.join('/');
}

/** The experiment file among the files: the shallowest experiment.json, else the only shallowest JSON file with "tasks" and "methods". */
async function findExperimentFile(files: readonly PathedFile[], from: string): Promise<PathedFile> {
  const depth = (p: string) => normal(p).split('/').length;
  const shallowest = (list: PathedFile[]) => {
    const d = Math.min(...list.map((f) => depth(f.path)));
    return list.filter((f) => depth(f.path) === d);
  };
  const named = files.filter((f) => baseName(f.path).toLowerCase() === EXPERIMENT_FILE);
  let found = named.length > 0 ? shallowest(named) : [];
  if (found.length === 0) {
    const candidates: PathedFile[] = [];
    for (const f of files.filter((x) => /\.json$/i.test(x.path) && x.file.size < 1 << 20)) {
      try {
        const json = JSON.parse(await f.file.text()) as unknown;
        if (json && typeof json === 'object' && 'tasks' in json && 'methods' in json) candidates.push(f);
      } catch {
        // Not JSON: a data file, not the experiment.
      }
    }
    found = candidates.length > 0 ? shallowest(candidates) : [];
  }
  if (found.length === 0) throw new Error(`${from}: no experiment file (${EXPERIMENT_FILE}, or a JSON file with "tasks" and "methods")`);
  if (found.length > 1) throw new Error(`${from}: several experiment files (${found.map((f) => normal(f.path)).join(', ')}); import one at a time`);
  return found[0];
}

/** The task input a task reference names, resolved against the experiment file's folder. */
function taskInputFor(ref: TaskRef, i: number, files: Map<string, File>, expDir: string, where: string, from: string): TaskInput {
  if (/^([A-Za-z]:)?[\\/]/.test(ref.path)) throw new Error(`${where}: tasks[${i}] "${ref.path}" is an absolute path; an imported experiment names its task files relative to itself`);
  const path = joinRelative(expDir, ref.path);
  if (path === null || path === '') throw new Error(`${where}: tasks[${i}] "${ref.path}" points outside ${from}`);
  const id = `imported-${Date.now().toString(36)}-${i}`;
  const own = { id, instruction: ref.instruction ?? null, columns: ref.columns ?? null };
  const file = files.get(path);
  if (file) return { ...own, name: ref.name ?? stemOf(path), kind: 'file', folder: dirOf(path) || null, files: [file] };
  const inside = [...files.entries()].filter(([p]) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes('/'));
  if (inside.length > 0) {
    const split = inside.filter(([p]) => /^(train|dev|test)\.json$/i.test(baseName(p)));
    if (split.length === 0) throw new Error(`${where}: tasks[${i}] "${ref.path}" is a folder without train.json and test.json (${from})`);
    return { ...own, name: ref.name ?? baseName(path), kind: 'benchmark', folder: path, files: split.map(([, f]) => f) };
  }
  throw new Error(`${where}: tasks[${i}] "${ref.path}": no such file or folder in ${from} (looked for ${path})`);
}

/**
 * An experiment file with its task files, from a dropped folder or an unpacked zip (`from` names it in errors): the
 * file is validated as `clora run` validates it, and each task path resolved relative to it.
 */
export async function importExperiment(files: readonly PathedFile[], from: string): Promise<ImportedExperiment> {
  const expFile = await findExperimentFile(files, from);
  const where = normal(expFile.path);
  const exp: Experiment = parseExperiment(parseJson(await expFile.file.text(), where), where);
  const byPath = new Map(files.map((f) => [normal(f.path), f.file]));
  const expDir = dirOf(where);
  const tasks = exp.tasks.map((ref, i) => taskInputFor(ref, i, byPath, expDir, where, from));
  const { model, tasks: _refs, ...settings } = exp;
  const title = expDir ? baseName(expDir) : stemOf(from);
  return { file: where, title, model, settings, tasks };
}
