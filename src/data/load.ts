// Builds Tasks from files: seeded train/test splits of a single file, the benchmark folder layout, and ordered task streams.
import { FormatError, MissingFileError } from '../io/errors.ts';
import { baseName, stemOf, type ByteSource } from './byte-source.ts';
import { parseTaskFile, type ColumnMap, type ParseResult } from './parse.ts';
import { CAP_SEED_OFFSET, cappedIndices, selectFromFile, type SplitIndices } from './select.ts';
import { DEFAULT_INSTRUCTION, labelSet, type Example, type SplitName, type Task } from './task.ts';

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
  const { train, test, dev } = splits;
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

/** The examples at `indices`, from a parse that kept them (`kept.indices` says which record each one is). */
export function examplesAt(kept: ParseResult, indices: Int32Array): Example[] {
  if (kept.indices === undefined) return Array.from(indices, (i) => kept.examples[i]);
  const at = new Map<number, Example>();
  kept.indices.forEach((record, k) => at.set(record, kept.examples[k]));
  return Array.from(indices, (i) => at.get(i)!);
}

/** A file's examples in the splits `selection` names (record indices). */
function pickSplits(kept: ParseResult, selection: SplitIndices): { train: Example[]; test: Example[]; dev: Example[] } {
  return { train: examplesAt(kept, selection.train), test: examplesAt(kept, selection.test), dev: examplesAt(kept, selection.dev) };
}

/**
 * Reads one file keeping only the records `choose` picks once the file's records are counted, in at most two passes
 * over its bytes. The first pass reads and checks every record, holding only the first `hold` of them; when the file
 * has no more records than that, `choose` picks from those and the file is read once. Otherwise a second pass keeps
 * the chosen records alone. Either way no more than `hold` records, or the chosen ones, are held at once.
 */
async function readChosen(
  source: ByteSource,
  opts: LoadOptions,
  hold: number,
  choose: (first: ParseResult) => SplitIndices,
): Promise<{ parsed: ParseResult; splits: { train: Example[]; test: Example[]; dev: Example[] } }> {
  const size = source.size;
  const report = opts.onProgress;
  // The bytes of both passes count toward the progress; a file that fits in the first pass jumps to the end.
  const progress = (offset: number) => (report ? (read: number) => report(offset + read, size === null ? null : 2 * size, source.name) : undefined);
  const first = await parseTaskFile(source, { columns: opts.columns, onProgress: progress(0), keep: (i) => i < hold });
  const total = first.total ?? first.examples.length;
  const selection = choose(first);
  if (total <= hold) {
    if (report && size !== null) report(2 * size, 2 * size, source.name);
    return { parsed: first, splits: pickSplits(first, selection) };
  }
  const wanted = new Uint8Array(total);
  for (const list of [selection.train, selection.test, selection.dev]) for (const i of list) wanted[i] = 1;
  const second = await parseTaskFile(source, { columns: opts.columns, onProgress: progress(size ?? 0), recheck: { earlier: first, wanted: (i) => i < total && wanted[i] === 1 } });
  const again = second.total ?? second.examples.length;
  if (again !== total) {
    throw new FormatError(source.name, 'the file changed while it was being read', { detail: `${total} records at first, ${again} the second time` });
  }
  return { parsed: second, splits: pickSplits(second, selection) };
}

/** Whether any cap is set: only then is a file read in two passes (see readChosen). */
function anyCap(opts: LoadOptions): boolean {
  return opts.maxTrain !== undefined || opts.maxTest !== undefined || opts.maxDev !== undefined;
}

/**
 * One task from one file. Without a "split" field the examples are shuffled with `seed` and `testFraction` of
 * them (rounded, at least 1, leaving at least 1 for training) become the test split; dev is then empty. Caps keep
 * a seeded random subset of a split (all of it, in order, when it fits), and only the examples kept are held
 * (see readChosen): exactly those, in the same order, that capping the whole shuffled file in memory keeps.
 */
export async function loadTaskFromFile(source: ByteSource, opts: LoadOptions = {}): Promise<Task> {
  validateOptions(opts);
  const file = source.name;
  const choose = (p: ParseResult) => selectFromFile(file, p.total ?? p.examples.length, p.splits, opts);
  let parsed: ParseResult;
  let splits: { train: Example[]; test: Example[]; dev: Example[] };
  if (anyCap(opts)) {
    // The caps given bound what the first pass holds; a split without a cap is kept whole, by the second pass.
    const hold = (opts.maxTrain ?? 0) + (opts.maxTest ?? 0) + (opts.maxDev ?? 0);
    ({ parsed, splits } = await readChosen(source, opts, hold, choose));
  } else {
    parsed = await parseTaskFile(source, { columns: opts.columns, onProgress: progressFor(opts, file) });
    splits = pickSplits(parsed, choose(parsed));
  }
  return makeTask(opts.name ?? stemOf(file), file, parsed.instruction, splits, opts);
}

/** One split file of a benchmark folder, capped to `max` with its split's seed; read once unless the cap binds. */
async function readBenchmarkSplit(source: ByteSource, split: SplitName, max: number | undefined, opts: LoadOptions): Promise<{ parsed: ParseResult; examples: Example[] }> {
  if (max === undefined) {
    const parsed = await parseTaskFile(source, { columns: opts.columns, onProgress: progressFor(opts, source.name) });
    return { parsed, examples: parsed.examples };
  }
  const seed = (opts.seed ?? 0) + CAP_SEED_OFFSET[split];
  const all = (p: ParseResult): SplitIndices => {
    const records = Int32Array.from({ length: p.total ?? p.examples.length }, (_, i) => i);
    return { train: cappedIndices(records, max, seed), test: new Int32Array(0), dev: new Int32Array(0) };
  };
  const { parsed, splits } = await readChosen(source, opts, max, all);
  return { parsed, examples: splits.train };
}

/**
 * One task from a benchmark folder (SAPT / O-LoRA layout): train and test files are required, dev is optional,
 * and the instruction is the "Definition" (joined with a space) of the train file, else of test or dev. Each file
 * is capped by its split's maximum (see readBenchmarkSplit).
 */
export async function loadBenchmarkTask(folderName: string, files: BenchmarkFiles, opts: LoadOptions = {}): Promise<Task> {
  validateOptions(opts);
  const hint = 'a benchmark task folder needs train.json and test.json (dev.json is optional)';
  if (!files.train) throw new MissingFileError('train.json', folderName, hint);
  if (!files.test) throw new MissingFileError('test.json', folderName, hint);
  const train = await readBenchmarkSplit(files.train, 'train', opts.maxTrain, opts);
  const test = await readBenchmarkSplit(files.test, 'test', opts.maxTest, opts);
  const dev = files.dev ? await readBenchmarkSplit(files.dev, 'dev', opts.maxDev, opts) : null;
  const instruction = train.parsed.instruction ?? test.parsed.instruction ?? dev?.parsed.instruction ?? null;
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
