// Training examples encoded on demand, so that a task with many examples never holds all their tokens at once: a
// first pass encodes each example once (for the run's sequence length and truncation counts) and keeps the
// encodings only while a token budget lasts; the others are encoded again, by the same function, when a batch asks.
import type { EncodedExample } from './encode.ts';

/** Examples by index: an array of them, or EncodedExamples. */
export interface ExampleList {
  readonly length: number;
  at(index: number): EncodedExample | undefined;
}

/** The example at `index` of a list; throws when there is none (an index from a sampler of the list's own length). */
export function exampleAt(list: ExampleList, index: number): EncodedExample {
  const e = list.at(index);
  if (e === undefined) throw new Error(`no training example ${index} (of ${list.length})`);
  return e;
}

/**
 * Tokens of training encodings a run keeps after the first pass, over all its tasks (ids and labels as JS numbers:
 * about 16 bytes a token, so 32 MiB). Tasks within it (every capped task) are encoded once, as before; beyond it
 * each batch encodes its examples again, which costs a tokenizer pass per example and no GPU time.
 */
export const KEPT_TRAIN_TOKENS = 2_000_000;

/** What the first pass may still keep, shared by the tasks of a run. */
export interface TokenBudget {
  tokens: number;
}

export class EncodedExamples implements ExampleList {
  private constructor(
    readonly length: number,
    private readonly kept: (EncodedExample | undefined)[],
    private readonly encode: (index: number) => EncodedExample,
  ) {}

  /**
   * Encodes examples 0..count-1 once each with `first` and keeps the encodings that fit what is left of `budget`
   * (taking from it); `again` encodes the others when they are asked for, and must give what `first` gave.
   */
  static encodeAll(count: number, first: (index: number) => EncodedExample, again: (index: number) => EncodedExample, budget: TokenBudget): EncodedExamples {
    const kept = new Array<EncodedExample | undefined>(count);
    for (let i = 0; i < count; i++) {
      const e = first(i);
      if (e.ids.length <= budget.tokens) {
        budget.tokens -= e.ids.length;
        kept[i] = e;
      }
    }
    return new EncodedExamples(count, kept, again);
  }

  /** How many encodings the first pass kept. */
  get keptCount(): number {
    let n = 0;
    for (let i = 0; i < this.length; i++) if (this.kept[i] !== undefined) n++;
    return n;
  }

  at(index: number): EncodedExample | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined;
    return this.kept[index] ?? this.encode(index);
  }
}

/** Several lists read as one, in order (MTL's union of every task's examples). */
export function concatLists(lists: readonly ExampleList[]): ExampleList {
  const starts: number[] = [];
  let length = 0;
  for (const l of lists) {
    starts.push(length);
    length += l.length;
  }
  return {
    length,
    at(index: number) {
      if (!Number.isInteger(index) || index < 0 || index >= length) return undefined;
      let k = lists.length - 1;
      while (starts[k] > index) k--;
      return lists[k].at(index - starts[k]);
    },
  };
}
