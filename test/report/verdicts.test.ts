// Honest verdicts: each task's majority-label and chance scores from its test labels, the tasks a method learned
// nothing on, and a metrics table that never calls a vacuous value best (src/cl/baselines.ts, src/report/verdicts.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { taskBaselines } from '../../src/cl/baselines.ts';
import { computeMetrics } from '../../src/cl/metrics.ts';
import type { MethodResult, RunResults } from '../../src/cl/runner.ts';
import { sameRun } from '../../src/cl/runner.ts';
import { matrixTable, metricsTable, reportMarkdown, tasksTable, forgettingCurvesSvg } from '../../src/report/report.ts';
import { methodHeatmapSvg } from '../../src/report/heatmap-svg.ts';
import { bestMetrics, metricsRows } from '../../src/report/tables.ts';
import { baselineLines, learnedNothing, learnedNothingNote, nothingFloor } from '../../src/report/verdicts.ts';

function method(name: string, matrix: (number | null)[][] | null, final: number[] = []): MethodResult {
  return {
    method: name, matrix, final: matrix ? matrix[matrix.length - 1].map((v) => v ?? 0) : final, metrics: matrix ? computeMetrics(matrix) : null,
    losses: [], routing: null, samples: [], timings: { trainSeconds: [], evalSeconds: [], tokensPerSecond: 0 },
  };
}

/** Two classification tasks (majority 75 and 50, chance 50 and 25) and a free-text one. */
function run(methods: Record<string, MethodResult>, withBaselines = true): RunResults {
  const tasks: RunResults['tasks'] = [
    { name: 'spam', metric: 'em', train: 8, test: 4, labels: ['spam', 'ham'], baselines: taskBaselines(['ham', 'Ham.', 'spam', 'ham'], ['spam', 'ham'], 'em') },
    { name: 'topic', metric: 'em', train: 8, test: 4, labels: ['a', 'b', 'c', 'd'], baselines: taskBaselines(['a', 'b', 'a', 'c'], ['a', 'b', 'c', 'd'], 'em') },
    { name: 'summary', metric: 'rougeL', train: 8, test: 4, labels: null, baselines: taskBaselines(['x y', 'z'], null, 'rougeL') },
  ];
  return {
    version: 1, model: { arch: 'llama', params: 1, layers: 1, hidden: 1 }, device: 'test',
    settings: {
      model: null, seed: 0, steps: 1, epochs: null, batchSize: 2, lr: 1e-3, maxLength: 64, maxNewTokens: 4,
      lora: { rank: 4, alpha: 8, dropout: 0, targets: ['q_proj'] }, evaluateUnseen: false, testFraction: 0.2, maxTrain: null, maxTest: null, seqLen: 32,
    },
    tasks: withBaselines ? tasks : tasks.map(({ baselines: _b, ...t }) => t),
    methods, singleTask: null, seconds: 1,
  };
}

describe('task baselines', () => {
  it('majority = the share of the most common normalised gold answer; chance = 100 / labels', () => {
    // ham, Ham. and ham normalise alike: 3 of 4.
    assert.deepEqual(taskBaselines(['ham', 'Ham.', 'spam', 'ham'], ['spam', 'ham'], 'em'), { majorityLabel: 'ham', majority: 75, chance: 50 });
    // a twice, b and c once: the first seen of the most common.
    assert.deepEqual(taskBaselines(['b', 'a', 'c', 'a'], ['a', 'b', 'c', 'd'], 'em'), { majorityLabel: 'a', majority: 50, chance: 25 });
    // Ties go to the first seen.
    assert.equal(taskBaselines(['y', 'x', 'x', 'y'], null, 'em').majorityLabel, 'y');
    assert.equal(taskBaselines(['y', 'x'], null, 'em').chance, null, 'no label set, no chance');
    assert.deepEqual(taskBaselines(['free text'], null, 'rougeL'), { majorityLabel: null, majority: null, chance: null });
  });

  it('baselines do not tell runs apart when resuming (older stored runs lack them)', () => {
    const a = run({});
    const b = run({}, false);
    assert.ok(sameRun(a, b));
  });
});

describe('learned nothing', () => {
  // SAPT-like: 0 everywhere. weak: task 1 at its majority (75), task 2 above (60 > 50). good: above on every task.
  const results = run({
    good: method('seqlora', [[90, null, null], [80, 70, null], [70, 60, 40]]),
    weak: method('ewc', [[75, null, null], [75, 60, null], [75, 55, 30]]),
    nothing: method('sapt', [[0, null, null], [0, 0, null], [0, 0, 0]]),
    mtl: method('mtl', null, [50, 90, 10]),
  });

  it('marks the diagonal at or below the majority-label score (0 on free-text tasks, and without recorded baselines)', () => {
    assert.deepEqual([0, 1, 2].map((t) => nothingFloor(results, t)), [75, 50, 0]);
    assert.deepEqual(learnedNothing(results, 'good'), [false, false, false]);
    assert.deepEqual(learnedNothing(results, 'weak'), [true, false, false]);
    assert.deepEqual(learnedNothing(results, 'nothing'), [true, true, true]);
    assert.deepEqual(learnedNothing(results, 'mtl'), [true, false, false], 'a joint method: its final scores');
    assert.match(learnedNothingNote(results, 'nothing')!, /^nothing learned nothing on any task: .* at or below the majority-label score \(zero on free-text tasks\)\.$/);
    assert.match(learnedNothingNote(results, 'weak')!, /^weak learned nothing on task 1: its score right after training it/);
    assert.equal(learnedNothingNote(results, 'good'), null);
    const old = run({ nothing: method('sapt', [[0, null, null], [0, 0, null], [0, 0, 0]]) }, false);
    assert.deepEqual(learnedNothing(old, 'nothing'), [true, true, true]);
    assert.match(learnedNothingNote(old, 'nothing')!, /at or below zero\.$/);
  });

  it('the best of each metric skips vacuous values: F.Ra 0 of a method that learned nothing is not best', () => {
    const rows = metricsRows(results);
    assert.equal(rows.find((r) => r.method === 'nothing')!.fra, 0);
    const best = bestMetrics(rows, 3);
    // good forgets (90 - 70 + 70 - 60) / 2 = 15; weak's F.Ra rests on task 1, never learnt: not a candidate.
    assert.equal(best.fra, 15);
    assert.equal(best.bwt, -15);
    // AP: weak learned task 2 and 3, so its AP (53.3) counts; nothing's (0) never wins anyway.
    assert.ok(Math.abs(best.ap! - 170 / 3) < 1e-9);
    // Without the task count the old rule applies (nothing's F.Ra 0 would win): the views pass it.
    assert.equal(bestMetrics(rows).fra, 0);
  });

  it('the report shows majority and chance per task, marks vacuous cells and values ∅, and draws baseline lines', () => {
    assert.match(tasksTable(results), /\| 1 \| spam \| exact match \| 8 \| 4 \| 75\.0 \(ham\) \| 50\.0 \|/);
    assert.match(tasksTable(results), /\| 3 \| summary \| ROUGE-L \| 8 \| 4 \| \| \|/);
    const m = matrixTable(results, 'weak');
    assert.match(m, /\| after 1: spam \| 75\.0 ∅ \|/);
    assert.match(m, /\| after 2: topic \| 75\.0 \| 60\.0 \|/, 'only the diagonal is marked');
    assert.match(m, /\| \*majority label\* \| 75\.0 \| 50\.0 \| \|/);
    assert.match(m, /\| \*chance\* \| 50\.0 \| 25\.0 \| \|/);
    const table = metricsTable(results);
    assert.match(table, /\| nothing \(sapt\) \| 0\.0 ∅ \| 0\.0 ∅ \| 0\.0 ∅ \|/);
    assert.match(table, /\| good \(seqlora\) \| 56\.7 \| 15\.0 \|/);
    const md = reportMarkdown(results, { good: 'g.svg', weak: 'w.svg', nothing: 'n.svg', mtl: 'm.svg' });
    assert.match(md, /- nothing learned nothing on any task/);
    assert.deepEqual(baselineLines(results, 1).map((l) => [l.kind, l.points]), [['majority', [{ x: 1, y: 50 }, { x: 3, y: 50 }]], ['chance', [{ x: 1, y: 25 }, { x: 3, y: 25 }]]]);
    assert.deepEqual(baselineLines(results, 2), []);
    assert.match(forgettingCurvesSvg(results, 't'), /<title>majority label<\/title>/);
    assert.match(methodHeatmapSvg(results, 'good'), /\(majority label\)/);
  });
});
