// The continual-learning task model: text-to-text examples, a task's splits and instruction, and its label set.

/** One text-to-text example: the model reads `input` (after the task instruction) and must produce `output`. */
export interface Example {
  input: string;
  output: string;
}

export type SplitName = 'train' | 'test' | 'dev';

export interface Task {
  /** Unique within a task stream; the file or folder name unless given. */
  name: string;
  instruction: string;
  train: Example[];
  test: Example[];
  dev: Example[];
  /** Sorted distinct outputs when they look like a label set (see `labelSet`), else null. */
  labels: string[] | null;
  /** The file or folder the task was read from, for messages. */
  source: string;
}

/** Used when neither the data nor the caller gives an instruction. */
export const DEFAULT_INSTRUCTION = 'Answer with the correct output for the input.';

/** Most distinct outputs a task may have for them to count as classification labels. */
export const MAX_LABELS = 50;

/**
 * The sorted distinct outputs (sorted by UTF-16 code units, so the order is the same everywhere) when there are
 * at most MAX_LABELS of them and every one occurs at least twice; otherwise null (free-text answers).
 */
export function labelSet(...groups: ReadonlyArray<readonly Example[]>): string[] | null {
  const counter = new LabelCounter();
  for (const group of groups) for (const ex of group) counter.add(ex.output);
  return counter.labels();
}

/** labelSet over outputs seen one at a time (a file read without holding its examples), in bounded memory. */
export class LabelCounter {
  private readonly counts = new Map<string, number>();
  private tooMany = false;

  add(output: string): void {
    if (this.tooMany) return;
    this.counts.set(output, (this.counts.get(output) ?? 0) + 1);
    if (this.counts.size > MAX_LABELS) {
      this.tooMany = true;
      this.counts.clear();
    }
  }

  /** What labelSet gives for every output added so far. */
  labels(): string[] | null {
    if (this.tooMany || this.counts.size === 0) return null;
    for (const n of this.counts.values()) if (n < 2) return null;
    return [...this.counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
