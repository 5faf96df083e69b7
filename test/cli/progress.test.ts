// clora run's progress output: one line per 1% of the run and per change of method, task or phase when
// stderr is a log file, and one redrawn line on a terminal.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { progressPrinter } from '../../src/cli/run-command.ts';
import type { RunProgress } from '../../src/cl/runner.ts';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, columns: 100, write: (s: string) => (chunks.push(s), true) }, chunks };
}

const at = (done: number, over: Partial<RunProgress> = {}): RunProgress => ({
  method: 'seqlora', methodIndex: 0, methods: 2, phase: 'train', task: 0, tasks: 3, step: 0, steps: 30,
  loss: 1.5, tokensPerSecond: 120, done, ...over,
});

describe('clora run progress', () => {
  it('writes a log line per 1% and per method, task or phase change, never more', () => {
    const { stream, chunks } = sink(false);
    const print = progressPrinter(stream as never, performance.now());
    print(at(0.001));
    print(at(0.002, { step: 1 }));            // same 1%, same task: no line
    print(at(0.011, { step: 2 }));            // next percent
    print(at(0.012, { phase: 'eval' }));      // phase change
    print(at(0.013, { phase: 'eval', step: 1 }));
    print(at(0.014, { task: 1 }));            // task change
    print(at(0.015, { methodIndex: 1, method: 'sapt', task: 1 }));
    assert.equal(chunks.length, 5, chunks.join(''));
    assert.ok(chunks.every((c) => c.endsWith('\n') && !c.includes('\r')));
    assert.match(chunks[2], /seqlora \(1\/2\) task 1\/3 eval 1\/30 loss 1\.5000 120 tok\/s/);
    assert.match(chunks[4], /sapt \(2\/2\) task 2\/3/);
  });

  it('estimates the time left from the progress made by this process, so a resumed run is not over-optimistic', () => {
    const { stream, chunks } = sink(false);
    const started = performance.now() - 100_000; // 100 s ago
    const print = progressPrinter(stream as never, started);
    print(at(0.5));                                // resumed half done: no rate yet
    print(at(0.6, { task: 1 }));                   // 10% in 100 s: 40% left takes 400 s
    assert.match(chunks[0], /ETA --/);
    assert.match(chunks[1], /ETA 6m4\ds/);
  });

  it('redraws one line in place on a terminal', () => {
    const { stream, chunks } = sink(true);
    const print = progressPrinter(stream as never, performance.now());
    print(at(0.5, { step: 14 }));
    assert.equal(chunks.length, 1);
    assert.ok(chunks[0].startsWith('\r[############............]  50.0% seqlora'));
    assert.ok(chunks[0].length <= 99 + 1);
  });
});
