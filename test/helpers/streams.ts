// Synthetic task streams for end-to-end continual-learning tests, generated at test time (never
// stored in the repository): conflicting tasks share their inputs and differ in the answers.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '../../src/model/rng.ts';

export interface StreamTask {
  name: string;
  instruction: string;
  labels: [string, string];
}

export const CONFLICTING_TASKS: StreamTask[] = [
  { name: 'alpha', instruction: 'Alpha: yes or no?', labels: ['yes', 'no'] },
  { name: 'beta', instruction: 'Beta: cat or dog?', labels: ['cat', 'dog'] },
  { name: 'gamma', instruction: 'Gamma: red or blue?', labels: ['red', 'blue'] },
];

/**
 * Writes one JSONL file per task under `dir/data`: `examples` lines cycling over eight nonsense
 * inputs, each task mapping every input to one of its own two labels by a seeded rule. Returns
 * the file paths relative to `dir`.
 */
export function conflictingStream(dir: string, seed: number, tasks: StreamTask[] = CONFLICTING_TASKS, examples = 64): string[] {
  const rng = createRng(seed);
  const inputs = ['zap', 'mog', 'kiv', 'tud', 'rel', 'bax', 'nop', 'wix'];
  mkdirSync(join(dir, 'data'), { recursive: true });
  return tasks.map((t) => {
    const rule = new Map(inputs.map((w) => [w, t.labels[rng.nextU32() % 2]]));
    const lines = Array.from({ length: examples }, (_, i) => {
      const input = inputs[i % inputs.length];
      return JSON.stringify({ instruction: t.instruction, input, output: rule.get(input) });
    });
    const file = join(dir, 'data', `${t.name}.jsonl`);
    writeFileSync(file, lines.join('\n') + '\n');
    return `data/${t.name}.jsonl`;
  });
}
