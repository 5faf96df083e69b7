// Builds Tasks from files: seeded train/test splits of a single file, the benchmark folder layout, and ordered task streams.
import { FormatError, MissingFileError } from '../io/errors.ts';
import { createRng, shuffled } from '../model/rng.ts';
import { baseName, stemOf, type ByteSource } from './byte-source.ts';
import { parseTaskFile, type ColumnMap, type ParseResult } from './parse.ts';
import { DEFAULT_INSTRUCTION, labelSet, type Example, type Task } from './task.ts';

/** Progress of one file of a task: bytes read so far, its size when known, and its name. */
export type LoadProgress = (bytesRead: number, totalBytes: number | null, file: string) => void;

export interface LoadOptions {
  /** Task name; defaults to the file name without extension (or the benchmark folder name). */
  name?: string;
  /** Overrides the instruction found in the data (and the default). */
  instruction?: string;
  /** Share of a single file's examples held out for test (default 0.2); at least one goes to each side. */
  testFraction?: number;
  /** Seed of the shuffles that split a single file and pick capped subsets (default 0). */
  seed?: number;
  /** Keep at most this many examples per split, a seeded random subset. */
  maxTrain?: number;
  maxTest?: number;
  maxDev?: number;
  columns?: ColumnMap;
  onProgress?: LoadProgress;
}

/** The files of one benchmark task folder (train.json, dev.json, test.json). */
export interface BenchmarkFiles {
  train?: ByteSource;
  dev?: ByteSource;
  test?: ByteSource;
}

/** One entry of a task stream: a single file, or a benchmark folder. */
export type TaskEntry =
  | { kind: 'file'; source: ByteSource; name?: string }
  | { kind: 'benchmark'; folder: string; files: BenchmarkFiles; name?: string };

function checkCap(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new Error(`${name} must be a positive integer, got ${v}`);
}

/** At most `max` items: all of them in file order when they fit, else a seeded random subset. */
function capped<T>(items: T[], max: number | undefined, seed: number): T[] {
  if (max === undefined || items.length <= max) return items;
  return shuffled(items, createRng(seed)).slice(0, max);
}

function validateOptions(opts: LoadOptions): void {
  const f = opts.testFraction;
  if (f !== undefined && !(f > 0 && f < 1)) throw new Error(`testFraction must be between 0 and 1 (exclusive), got ${f}`);
  if (opts.seed !== undefined && !Number.isSafeInteger(opts.seed)) throw new Error(`seed must be an integer, got ${opts.seed}`);
  checkCap('maxTrain', opts.maxTrain);
  checkCap('maxTest', opts.maxTest);
  checkCap('maxDev', opts.maxDev);
}

function progressFor(opts: LoadOptions, file: string) {
  const cb = opts.onProgress;
  return cb ? (read: number, total: number | null) => cb(read, total, file) : undefined;
}

function makeTask(
  name: string,
  source: string,
  instruction: string | null,
  splits: { train: Example[]; test: Example[]; dev: Example[] },
  opts: LoadOptions,
): Task {
  const seed = opts.seed ?? 0;
  // Different seeds per split so that capping train and test draws independent subsets.
  const train = capped(splits.train, opts.maxTrain, seed + 1);
  const test = capped(splits.test, opts.maxTest, seed + 2);
  const dev = capped(splits.dev, opts.maxDev, seed + 3);
  return {
    name,
    instruction: opts.instruction ?? instruction ?? DEFAULT_INSTRUCTION,
    train,
    test,
    dev,
    labels: labelSet(train, dev, test),
    source,
  };
}

/** Splits a single file's examples: by its "split" column when it has one, else a seeded shuffle. */
export function splitExamples(file: string, parsed: ParseResult, opts: LoadOptions): { train: Example[]; test: Example[]; dev: Example[] } {
  const { examples, splits } = parsed;
  if (splits !== null) {
    const out = { train: [] as Example[], test: [] as Example[], dev: [] as Example[] };
    examples.forEach((ex, i) => out[splits[i]].push(ex));
    if (out.train.length === 0) throw new FormatError(file, 'the "split" field marks no example as train');
    if (out.test.length === 0) throw new FormatError(file, 'the "split" field marks no example as test');
    return out;
  }
  const n = examples.length;
  if (n < 2) throw new FormatError(file, `needs at least 2 examples to split into train and test, found ${n}`);
  const nTest = Math.min(n - 1, Math.max(1, Math.round(n * (opts.testFraction ?? 0.2))));
  const order = shuffled(examples, createRng(opts.seed ?? 0));
  return { test: order.slice(0, nTest), train: order.slice(nTest), dev: [] };
}

/**
 * One task from one file. Without a "split" field the examples are shuffled with `seed` and `testFraction` of
 * them (rounded, at least 1, leaving at least 1 for training) become the test split; dev is then empty.
 */
export async function loadTaskFromFile(source: ByteSource, opts: LoadOptions = {}): Promise<Task> {
  validateOptions(opts);
  const parsed = await parseTaskFile(source, { columns: opts.columns, onProgress: progressFor(opts, source.name) });
  const splits = splitExamples(source.name, parsed, opts);
  return makeTask(opts.name ?? stemOf(source.name), source.name, parsed.instruction, splits, opts);
}

/**
 * One task from a benchmark folder (SAPT / O-LoRA layout): train and test files are required, dev is optional,
 * and the instruction is the "Definition" (joined with a space) of the train file, else of test or dev.
 */
export async function loadBenchmarkTask(folderName: string, files: BenchmarkFiles, opts: LoadOptions = {}): Promise<Task> {
  validateOptions(opts);
  const hint = 'a benchmark task folder needs train.json and test.json (dev.json is optional)';
  if (!files.train) throw new MissingFileError('train.json', folderName, hint);
  if (!files.test) throw new MissingFileError('test.json', folderName, hint);
  const read = (src: ByteSource) => parseTaskFile(src, { columns: opts.columns, onProgress: progressFor(opts, src.name) });
  const train = await read(files.train);
  const test = await read(files.test);
  const dev = files.dev ? await read(files.dev) : null;
  const instruction = train.instruction ?? test.instruction ?? dev?.instruction ?? null;
  return makeTask(opts.name ?? baseName(folderName), folderName, instruction, { train: train.examples, test: test.examples, dev: dev?.examples ?? [] }, opts);
}

/** Throws when two tasks share a name, naming both sources. */
export function checkTaskNames(tasks: ReadonlyArray<{ name: string; source: string }>): void {
  const seen = new Map<string, string>();
  for (const t of tasks) {
    const first = seen.get(t.name);
    if (first !== undefined) throw new Error(`task name "${t.name}" is used twice: by ${first} and by ${t.source}`);
    seen.set(t.name, t.source);
  }
}

function entryName(e: TaskEntry): { name: string; source: string } {
  return e.kind === 'file' ? { name: e.name ?? stemOf(e.source.name), source: e.source.name } : { name: e.name ?? baseName(e.folder), source: e.folder };
}

/**
 * Loads tasks in the given order (the order they will be learned in). Names are checked before any file is read,
 * so a duplicate is reported without parsing large files first. `opts.name` is ignored: names come from the entries.
 */
export async function loadTaskStream(entries: readonly TaskEntry[], opts: LoadOptions = {}): Promise<Task[]> {
  checkTaskNames(entries.map(entryName));
  const shared: LoadOptions = { ...opts, name: undefined };
  const tasks: Task[] = [];
  for (const e of entries) {
    tasks.push(
      e.kind === 'file'
        ? await loadTaskFromFile(e.source, { ...shared, name: e.name })
        : await loadBenchmarkTask(e.folder, e.files, { ...shared, name: e.name }),
    );
  }
  return tasks;
}
