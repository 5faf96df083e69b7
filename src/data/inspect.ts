// Reads the task datasets a person adds (browser Files) into short previews, and loads them in full when a run starts.
import { MissingFileError } from '../io/errors.ts';
import { baseName, fileByteSource, type ByteSource } from './byte-source.ts';
import { checkTaskNames, examplesAt, loadBenchmarkTask, loadTaskFromFile, type BenchmarkFiles, type LoadOptions } from './load.ts';
import { formatOf, parseTaskFile, type ChosenFields, type ColumnMap, type DataFormat, type ParseResult } from './parse.ts';
import { columnSplit, seededSplit } from './select.ts';
import { DEFAULT_INSTRUCTION, LabelCounter, type Example, type Task } from './task.ts';

/** One task as the person added it: a single data file, or a benchmark folder's train/dev/test files. */
export interface TaskInput {
  /** Stable identity within the UI (names can be edited and clash, ids cannot). */
  id: string;
  /** Task name used in the stream and in results. */
  name: string;
  kind: 'file' | 'benchmark';
  /** The folder the files came from (relative path as dropped), or null for a file picked on its own. */
  folder: string | null;
  /** One file for kind 'file'; train.json, test.json and optionally dev.json for kind 'benchmark'. */
  files: File[];
  /** Overrides the instruction found in the data; null keeps the data's (or the default). */
  instruction: string | null;
  /** Field or column names to use instead of the automatic choice. */
  columns: ColumnMap | null;
}

/** What the Tasks panel shows about a task that was read successfully. */
export interface TaskPreview {
  id: string;
  name: string;
  /** The file name, or the folder for a benchmark task. */
  source: string;
  format: DataFormat | 'benchmark';
  /** Field or column names chosen for the first record (of train.json for a benchmark task). */
  fields: ChosenFields | null;
  /** The instruction the data gives, else the default one; the input's override is not applied. */
  instruction: string;
  /** Whether `instruction` came from the data rather than being the default. */
  instructionFromData: boolean;
  /** The first training examples (up to PREVIEW_ROWS) in file order. */
  rows: Example[];
  /** The task's label set (see `labelSet`), or null for free-text answers. */
  labels: string[] | null;
  /** Examples per split as a run with the same testFraction and seed would use them (before any caps). */
  counts: { train: number; test: number; dev: number };
  /** Total size of the task's files. */
  bytes: number;
}

/** The outcome of reading one task: a preview, or the reader's message (naming file and line). */
export type TaskInspection = { ok: true; preview: TaskPreview } | { ok: false; id: string; name: string; source: string; error: string };

/** Options of inspectTask: the split settings a run will use, and progress. */
export interface InspectOptions {
  /** Share of a single file's examples held out for test, as in LoadOptions (default 0.2). */
  testFraction?: number;
  /** Seed of a single file's split, as in LoadOptions (default 0). */
  seed?: number;
  /** Bytes read so far over all of the task's files, and their total size. */
  onProgress?: (bytesRead: number, total: number | null) => void;
}

/** How many training examples a preview holds. */
export const PREVIEW_ROWS = 5;

const BENCHMARK_FILES = ['train', 'dev', 'test'] as const;

/** The source a task's messages name: the file for a single file, the folder for a benchmark task. */
export function inputSource(input: TaskInput): string {
  if (input.kind === 'benchmark') return input.folder ?? input.name;
  return input.files[0]?.name ?? input.name;
}

/** A benchmark folder's files by role, matched by base name case-insensitively; each is named `folder/file`. */
function benchmarkSources(input: TaskInput): BenchmarkFiles {
  const folder = inputSource(input);
  const out: BenchmarkFiles = {};
  for (const file of input.files) {
    const base = baseName(file.name).toLowerCase();
    for (const role of BENCHMARK_FILES) {
      if (base === `${role}.json` && out[role] === undefined) out[role] = fileByteSource(file, `${folder}/${baseName(file.name)}`);
    }
  }
  return out;
}

/** The single file of a file task; throws when there is not exactly one. */
function singleFile(input: TaskInput): File {
  if (input.files.length !== 1) throw new Error(`task "${input.name}" must have exactly one file, got ${input.files.length}`);
  return input.files[0];
}

const BENCHMARK_HINT = 'a benchmark task folder needs train.json and test.json (dev.json is optional)';

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/**
 * Records a preview holds while it reads a file through: enough, in nearly every split, for the first training rows
 * (in file order) to be among them, so that a file is read once.
 */
export const PREVIEW_HOLD = 64;

/**
 * Reads a file without holding its examples: every record is checked and counted, its output goes to `labels`, and
 * only the first `hold` records are kept.
 */
function readCounting(source: ByteSource, columns: ColumnMap | undefined, labels: LabelCounter, hold: number, onProgress?: (read: number) => void) {
  return parseTaskFile(source, {
    columns,
    onProgress,
    keep: (i, record) => {
      labels.add(record.output);
      return i < hold;
    },
  });
}

/**
 * Counts and the preview rows (training examples in file order) of a single file, split exactly as loadTaskFromFile
 * splits it. The rows come from the records the first pass held, else (a split that puts few of the first records
 * in training) from a second pass that keeps them alone.
 */
async function splitPreview(source: ByteSource, parsed: ParseResult, columns: ColumnMap | undefined, opts: InspectOptions): Promise<{ counts: TaskPreview['counts']; rows: Example[] }> {
  const total = parsed.total ?? parsed.examples.length;
  const split = parsed.splits !== null ? columnSplit(source.name, parsed.splits) : seededSplit(source.name, total, opts.testFraction, opts.seed);
  const first = split.train.slice().sort().subarray(0, PREVIEW_ROWS);
  const from = first.every((i) => i < PREVIEW_HOLD) ? parsed : await parseTaskFile(source, { columns, keep: (i) => first.includes(i) });
  return {
    counts: { train: split.train.length, test: split.test.length, dev: split.dev.length },
    rows: examplesAt(from, first),
  };
}

/** Reports progress over several files, read one after another, as one running total. */
function progressOver(total: number, cb: InspectOptions['onProgress']) {
  let done = 0;
  return {
    /** The per-file callback for the file being read now. */
    current: cb ? (read: number) => cb(done + read, total) : undefined,
    /** Moves the running total past a file that has been read. */
    finished: (size: number | null) => {
      done += size ?? 0;
    },
  };
}

async function inspectFile(input: TaskInput, opts: InspectOptions): Promise<TaskPreview> {
  const file = singleFile(input);
  const format = formatOf(file.name);
  const source = fileByteSource(file);
  const columns = input.columns ?? undefined;
  const labels = new LabelCounter();
  const parsed = await readCounting(source, columns, labels, PREVIEW_HOLD, opts.onProgress ? (read) => opts.onProgress!(read, file.size) : undefined);
  const { counts, rows } = await splitPreview(source, parsed, columns, opts);
  return {
    id: input.id,
    name: input.name,
    source: file.name,
    format,
    fields: parsed.fields ?? null,
    instruction: parsed.instruction ?? DEFAULT_INSTRUCTION,
    instructionFromData: parsed.instruction !== null,
    rows,
    labels: labels.labels(),
    counts,
    bytes: file.size,
  };
}

async function inspectBenchmark(input: TaskInput, opts: InspectOptions): Promise<TaskPreview> {
  const folder = inputSource(input);
  const files = benchmarkSources(input);
  if (!files.train) throw new MissingFileError('train.json', folder, BENCHMARK_HINT);
  if (!files.test) throw new MissingFileError('test.json', folder, BENCHMARK_HINT);
  const present = [files.train, files.test, files.dev].filter((s): s is ByteSource => s !== undefined);
  const total = present.reduce((sum, s) => sum + (s.size ?? 0), 0);
  const progress = progressOver(total, opts.onProgress);
  // Only the first training rows are held; every file's outputs go to the label set.
  const labels = new LabelCounter();
  const read = async (src: ByteSource, hold: number) => {
    const parsed = await readCounting(src, input.columns ?? undefined, labels, hold, progress.current);
    progress.finished(src.size);
    return parsed;
  };
  const train = await read(files.train, PREVIEW_ROWS);
  const test = await read(files.test, 0);
  const dev = files.dev ? await read(files.dev, 0) : null;
  const instruction = train.instruction ?? test.instruction ?? dev?.instruction ?? null;
  return {
    id: input.id,
    name: input.name,
    source: folder,
    format: 'benchmark',
    fields: train.fields ?? null,
    instruction: instruction ?? DEFAULT_INSTRUCTION,
    instructionFromData: instruction !== null,
    rows: train.examples.slice(0, PREVIEW_ROWS),
    labels: labels.labels(),
    counts: { train: train.total ?? train.examples.length, test: test.total ?? test.examples.length, dev: dev ? (dev.total ?? dev.examples.length) : 0 },
    bytes: total,
  };
}

/**
 * Reads one task's files incrementally and summarises them for the Tasks panel. Never rejects for bad data or an
 * incomplete benchmark folder: those come back as `{ok: false, error}` with the reader's message.
 */
export async function inspectTask(input: TaskInput, opts: InspectOptions = {}): Promise<TaskInspection> {
  try {
    const preview = input.kind === 'benchmark' ? await inspectBenchmark(input, opts) : await inspectFile(input, opts);
    return { ok: true, preview };
  } catch (e) {
    return { ok: false, id: input.id, name: input.name, source: inputSource(input), error: errorText(e) };
  }
}

/**
 * Loads every task in full, in the given order, as a run needs them. Names (trimmed) must be non-empty and unique,
 * which is checked before any file is read. A task's own instruction (when not blank) overrides `opts.instruction`
 * and the data's; its own columns override `opts.columns`. `opts.name` is ignored.
 */
export async function loadTaskInputs(inputs: readonly TaskInput[], opts: LoadOptions = {}): Promise<Task[]> {
  const named = inputs.map((input, i) => {
    const name = input.name.trim();
    if (name === '') throw new Error(`task ${i + 1} (${inputSource(input)}) has no name`);
    return { input, name, source: inputSource(input) };
  });
  checkTaskNames(named);
  const tasks: Task[] = [];
  for (const { input, name, source } of named) {
    const own = input.instruction?.trim();
    const taskOpts: LoadOptions = {
      ...opts,
      name,
      instruction: own ? own : opts.instruction,
      columns: input.columns ?? opts.columns,
    };
    if (input.kind === 'benchmark') {
      tasks.push(await loadBenchmarkTask(source, benchmarkSources(input), taskOpts));
    } else {
      tasks.push(await loadTaskFromFile(fileByteSource(singleFile(input)), taskOpts));
    }
  }
  return tasks;
}
