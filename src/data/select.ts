// Which records of a task file each split keeps, and in what order: the seeded split of a single file and the seeded
// caps, computed on record indices alone, so that a capped task can be read in two passes (count, then keep only
// the chosen records) and still pick exactly the examples, in the same order, that shuffling the examples in memory picks.
import { FormatError } from '../io/errors.ts';
import { createRng, shuffleInPlace } from '../model/rng.ts';
import type { SplitName } from './task.ts';

/** Record indices (0-based, in file order) of each split, in the order the task will hold them. */
export interface SplitIndices {
  train: Int32Array;
  test: Int32Array;
  dev: Int32Array;
}

export interface SelectOptions {
  /** Share of a single file's records held out for test (default 0.2). */
  testFraction?: number;
  /** Seed of the split's shuffle; the caps shuffle with seed + 1 (train), + 2 (test), + 3 (dev). Default 0. */
  seed?: number;
  maxTrain?: number;
  maxTest?: number;
  maxDev?: number;
}

/** The split whose cap draws with seed + offset; different seeds so that capping train and test draws independent subsets. */
export const CAP_SEED_OFFSET: Record<SplitName, number> = { train: 1, test: 2, dev: 3 };

const range = (n: number) => {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
};

/**
 * The seeded split of a file of `n` records without a "split" field: the indices 0..n-1 shuffled with `seed`
 * (Fisher-Yates, the draws `shuffled` makes on the examples themselves), the first round(n * testFraction) of them
 * (at least 1, leaving at least 1) for test and the rest for training; dev is empty.
 */
export function seededSplit(file: string, n: number, testFraction = 0.2, seed = 0): SplitIndices {
  if (n < 2) throw new FormatError(file, `needs at least 2 examples to split into train and test, found ${n}`);
  const nTest = Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
  const order = shuffleInPlace(range(n), createRng(seed));
  return { test: order.subarray(0, nTest), train: order.subarray(nTest), dev: new Int32Array(0) };
}

/** The split a file's own "split" field gives, each split in file order; train and test must not be empty. */
export function columnSplit(file: string, splits: readonly SplitName[]): SplitIndices {
  const lists: Record<SplitName, number[]> = { train: [], test: [], dev: [] };
  splits.forEach((s, i) => lists[s].push(i));
  if (lists.train.length === 0) throw new FormatError(file, 'the "split" field marks no example as train');
  if (lists.test.length === 0) throw new FormatError(file, 'the "split" field marks no example as test');
  return { train: Int32Array.from(lists.train), test: Int32Array.from(lists.test), dev: Int32Array.from(lists.dev) };
}

/** At most `max` of `indices`: all of them in their order when they fit, else the first `max` of a copy shuffled with `seed`. */
export function cappedIndices(indices: Int32Array, max: number | undefined, seed: number): Int32Array {
  if (max === undefined || indices.length <= max) return indices;
  return shuffleInPlace(indices.slice(), createRng(seed)).slice(0, max);
}

/** Each split capped to its maximum (maxTrain, maxTest, maxDev) with its own seed (seed + CAP_SEED_OFFSET). */
export function capSplits(s: SplitIndices, opts: SelectOptions): SplitIndices {
  const seed = opts.seed ?? 0;
  return {
    train: cappedIndices(s.train, opts.maxTrain, seed + CAP_SEED_OFFSET.train),
    test: cappedIndices(s.test, opts.maxTest, seed + CAP_SEED_OFFSET.test),
    dev: cappedIndices(s.dev, opts.maxDev, seed + CAP_SEED_OFFSET.dev),
  };
}

/**
 * What a single file of `total` records keeps: its "split" field's split when it has one (`splits`, one per
 * record), else the seeded split, then the caps.
 */
export function selectFromFile(file: string, total: number, splits: readonly SplitName[] | null, opts: SelectOptions): SplitIndices {
  const split = splits !== null ? columnSplit(file, splits) : seededSplit(file, total, opts.testFraction, opts.seed);
  return capSplits(split, opts);
}
