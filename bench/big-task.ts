// Writes a large JSONL task file of seeded random sentences with a four-way label, for the reading benchmark
// (bench/read-budget.ts); the file goes to a temporary folder and is never committed.
import { closeSync, openSync, writeSync } from 'node:fs';
import { createRng } from '../src/model/rng.ts';

const WORDS = ('the a of to and in is was for on that with as it by at from his her this be an which or are have had not ' +
  'film movie plot story actor scene music great good bad boring wonderful terrible slow fast funny dull bright dark ' +
  'city river market science game season player team government company price report study result market policy').split(' ');
const LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];

/** Writes about `bytes` bytes of `{"input": ..., "output": ...}` lines (20 to 60 words each) to `path`; returns the line count. */
export function writeBigTask(path: string, bytes: number, seed = 0): number {
  const rng = createRng(seed);
  const fd = openSync(path, 'w');
  let written = 0;
  let lines = 0;
  try {
    const batch: string[] = [];
    let batchBytes = 0;
    while (written < bytes) {
      const n = 20 + Math.floor(rng.uniform() * 41);
      const words: string[] = [];
      for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(rng.uniform() * WORDS.length)]);
      const line = JSON.stringify({ input: words.join(' '), output: LABELS[Math.floor(rng.uniform() * LABELS.length)] }) + '\n';
      batch.push(line);
      batchBytes += line.length;
      written += line.length;
      lines++;
      if (batchBytes > 1 << 20) {
        writeSync(fd, batch.join(''));
        batch.length = 0;
        batchBytes = 0;
      }
    }
    if (batch.length > 0) writeSync(fd, batch.join(''));
  } finally {
    closeSync(fd);
  }
  return lines;
}
