// Runs compared (src/report/comparison.ts, compare-series.ts and the app's CSV of src/ui/compare/compare-export.ts):
// mean, SD and n per method over runs with values computed here by hand, tasks matched by name or by position with the
// renamed pairs named, what differs between runs, the overlaid curves' lines and baselines, and the exported table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { computeMetrics } from '../../src/cl/metrics.ts';
import type { MethodResult, RunResults } from '../../src/cl/runner.ts';
import { paletteColor } from '../../src/report/color-scale.ts';
import { defaultColorBy, LINE_DASHES, overlayCurvesSvg, overlayLegend, overlayPanels } from '../../src/report/compare-series.ts';
import {
  bestMeans, comparisonFileBase, comparisonNotice, differencesNotice, matchTasks, methodOptionDifferences, methodSummaries, runDifferences, spreadOf,
  type LabelledRun,
} from '../../src/report/comparison.ts';
import { comparisonCsv, COMPARISON_CSV_HEADER } from '../../src/ui/compare/compare-export.ts';
import { fileRunLabel, uniqueLabels } from '../../src/ui/compare/labels.ts';
import { findAll, parseXml } from '../helpers/xml.ts';

function method(algorithm: string, matrix: (number | null)[][] | null, final: number[] = []): MethodResult {
  const finished = matrix !== null && matrix[matrix.length - 1].every((v) => v !== null);
  return {
    method: algorithm, matrix, final: matrix ? matrix[matrix.length - 1].map((v) => v ?? 0) : final, metrics: finished ? computeMetrics(matrix) : null,
    losses: [], routing: null, samples: [], timings: { trainSeconds: [], evalSeconds: [], tokensPerSecond: 0 },
  };
}

/** Three tasks named `names` (majority 60, 50, 40 unless given; chance 50, 25, 50), the given methods and seed. */
function run(names: string[], methods: Record<string, MethodResult>, seed = 0, majority = [60, 50, 40]): RunResults {
  const chance = [50, 25, 50];
  return {
    version: 1, model: { arch: 'llama', params: 1000, layers: 2, hidden: 8 }, device: 'test device',
    settings: {
      model: null, seed, steps: 4, epochs: null, batchSize: 2, lr: 1e-3, maxLength: 64, maxNewTokens: 4,
      lora: { rank: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, evaluateUnseen: false, testFraction: 0.2, maxTrain: null, maxTest: null, seqLen: 32,
    },
    tasks: names.map((name, t) => ({ name, metric: 'em', train: 8, test: 4, labels: ['a', 'b'], baselines: { majorityLabel: 'a', majority: majority[t], chance: chance[t] } })),
    methods, singleTask: null, seconds: 1,
  };
}

const A = [[80, null, null], [70, 90, null], [65, 85, 75]];
const B = [[70, null, null], [60, 80, null], [50, 70, 95]];
const C = [[90, null, null], [80, 70, null], [75, 60, 85]];
// Learned nothing on task 1: 55 <= its majority score of 60.
const NOTHING = [[55, null, null], [50, 90, null], [50, 85, 75]];
const ap = (m: number[][]) => m[m.length - 1].reduce((a, b) => a + b, 0) / m.length;
const sd = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
};

describe('spread of values', () => {
  it('gives the mean, the sample SD (n - 1) and n over the finite values only', () => {
    assert.deepEqual(spreadOf([]), { mean: null, sd: null, n: 0 });
    assert.deepEqual(spreadOf([null, 4, undefined]), { mean: 4, sd: null, n: 1 });
    const s = spreadOf([2, 4, null, 9]);
    assert.equal(s.n, 3);
    assert.equal(s.mean, 5);
    // Deviations -3, -1, 4: (9 + 1 + 16) / 2 = 13.
    assert.ok(Math.abs(s.sd! - Math.sqrt(13)) < 1e-12);
  });
});

describe('method summaries over runs', () => {
  const runs: LabelledRun[] = [
    { label: 'seed 0', results: run(['x', 'y', 'z'], { seq: method('seqlora', A as number[][]), rep: method('replay', NOTHING as number[][]), mtl: method('mtl', null, [90, 80, 70]) }, 0) },
    { label: 'seed 1', results: run(['x', 'y', 'z'], { seq: method('seqlora', B as number[][]), rep: method('replay', C as number[][]) }, 1) },
    { label: 'seed 2', results: run(['x', 'y', 'z'], { seq: method('seqlora', C as number[][]), mtl: method('mtl', null, [80, 80, 80]) }, 2) },
  ];
  const summaries = methodSummaries(runs);

  it('has every method once, in the first run\'s order, with the runs that have it', () => {
    assert.deepEqual(summaries.map((s) => s.method), ['seq', 'rep', 'mtl']);
    assert.deepEqual(summaries.map((s) => s.inRun), [[true, true, true], [true, true, false], [true, false, true]]);
    assert.deepEqual(summaries.map((s) => s.joint), [false, false, true]);
    assert.deepEqual(summaries[0].algorithms, ['seqlora']);
  });

  it('averages AP and BWT over the runs that have them, with SD and n computed here from the matrices', () => {
    const seq = summaries[0].metrics;
    const aps = [A, B, C].map((m) => ap(m as number[][]));
    assert.deepEqual(seq.ap.values, aps);
    assert.equal(seq.ap.n, 3);
    assert.ok(Math.abs(seq.ap.mean! - (aps[0] + aps[1] + aps[2]) / 3) < 1e-9);
    assert.ok(Math.abs(seq.ap.sd! - sd(aps)) < 1e-9);
    // BWT: the mean over tasks 1..T-1 of a[T-1][t] - a[t][t].
    const bwt = (m: number[][]) => ((m[2][0] - m[0][0]) + (m[2][1] - m[1][1])) / 2;
    const bwts = [A, B, C].map((m) => bwt(m as number[][]));
    assert.ok(Math.abs(seq.bwt.mean! - bwts.reduce((a, b) => a + b, 0) / 3) < 1e-9);
    assert.ok(Math.abs(seq.bwt.sd! - sd(bwts)) < 1e-9);
    // A joint method has AP only: the mean of its final scores, in the two runs that have it.
    const mtl = summaries[2].metrics;
    assert.deepEqual(mtl.ap.values, [80, null, 80]);
    assert.equal(mtl.ap.n, 2);
    assert.equal(mtl.ap.sd, 0);
    assert.equal(mtl.fra.n, 0);
    assert.equal(mtl.fra.mean, null);
  });

  it('marks a mean resting on a task some run learned nothing on, and never calls it best', () => {
    const rep = summaries[1].metrics;
    assert.equal(rep.bwt.vacuous, true, 'run 1 learned nothing on task 1, so its BWT says nothing');
    assert.equal(rep.ap.vacuous, false, 'AP is vacuous only when nothing was learnt on any task');
    const best = bestMeans(summaries);
    assert.equal(best.bwt, null, 'the one BWT that says something has no rival');
    assert.equal(best.ap, Math.max(summaries[0].metrics.ap.mean!, rep.ap.mean!));
    assert.equal(bestMeans([summaries[0]]).ap, null, 'one method alone is nobody\'s best');
  });

  it('writes the CSV: a row per method and metric with mean, SD, n and every run\'s value', () => {
    const csv = comparisonCsv(runs, summaries).trimEnd().split('\r\n').map((l) => l.split(','));
    assert.deepEqual(csv[0], [...COMPARISON_CSV_HEADER, 'seed 0', 'seed 1', 'seed 2']);
    assert.equal(csv.length, 1 + 3 * 4);
    const seqAp = csv.find((r) => r[0] === 'seq' && r[3] === 'ap')!;
    assert.equal(Number(seqAp[4]), summaries[0].metrics.ap.mean);
    assert.equal(Number(seqAp[5]), summaries[0].metrics.ap.sd);
    assert.equal(seqAp[6], '3');
    const mtlAp = csv.find((r) => r[0] === 'mtl' && r[3] === 'ap')!;
    assert.deepEqual(mtlAp.slice(1), ['mtl', 'yes', 'ap', '80', '0', '2', '80', '', '80']);
  });
});

describe('tasks matched across runs', () => {
  const seq = () => ({ seq: method('seqlora', A as number[][]) });
  it('matches the same tasks in another order by name, with no notice but the task order listed as a difference', () => {
    const runs = [{ label: 'order 1', results: run(['x', 'y', 'z'], seq()) }, { label: 'order 2', results: run(['z', 'x', 'y'], seq()) }];
    const m = matchTasks(runs);
    assert.equal(m.byName, true);
    assert.deepEqual(m.index, [[0, 1], [1, 2], [2, 0]]);
    assert.equal(comparisonNotice(runs), null);
    assert.deepEqual(runDifferences(runs), [{ field: 'task order', values: ['x → y → z', 'z → x → y'] }]);
  });

  it('matches renamed tasks by position and names each renamed pair', () => {
    const runs = [{ label: 'a', results: run(['x', 'y', 'z'], seq()) }, { label: 'b', results: run(['x', 'why', 'zed'], seq()) }];
    const m = matchTasks(runs);
    assert.equal(m.byName, false);
    assert.deepEqual(m.index, [[0, 0], [1, 1], [2, 2]]);
    assert.equal(comparisonNotice(runs),
      'The runs name their tasks differently, so tasks are matched by position (task k of each run with task k of the others): task 2 is "y" in "a", "why" in "b"; task 3 is "z" in "a", "zed" in "b".');
  });
});

describe('what differs between runs', () => {
  it('lists the model, settings and methods that are not the same in every run, each run\'s value in order', () => {
    const one = run(['x', 'y', 'z'], { seq: method('seqlora', A as number[][]) }, 0);
    const two = run(['x', 'y', 'z'], { seq: method('seqlora', B as number[][]), rep: method('replay', C as number[][]) }, 3);
    two.model = { ...two.model, params: 2_000_000 };
    two.settings.lora = { ...two.settings.lora, rank: 16 };
    const runs = [{ label: 'r1', results: one }, { label: 'r2', results: two }];
    assert.deepEqual(runDifferences(runs), [
      { field: 'architecture', values: ['llama 1,000 parameters, 2 layers', 'llama 2.00 M parameters, 2 layers'] },
      { field: 'seed', values: ['0', '3'] },
      { field: 'lora.rank', values: ['4', '16'] },
      { field: 'methods', values: ['seq', 'seq, rep'] },
    ]);
    assert.match(differencesNotice(runs)!, /^The runs differ in architecture \(r1: llama 1,000 parameters, 2 layers; r2: llama 2\.00 M parameters, 2 layers\), seed \(r1: 0; r2: 3\), lora\.rank/);
    assert.equal(differencesNotice([runs[0], { label: 'r1 again', results: one }]), null);
  });
});

describe('method options that differ', () => {
  it('lists an option whose recorded values differ, naming runs without records and runs without the method', () => {
    const runs = [
      { methods: [{ name: 'replay', options: { bufferSize: 50, mix: 0.5 } }, { name: 'ewc.v2', options: { lambda: 5 } }, { name: 'lwf', options: { t: 2 } }] },
      // A record written before options were kept has none.
      { methods: [{ name: 'replay', options: { bufferSize: 100, mix: 0.5 } }, { name: 'lwf' }] },
      {},
    ];
    assert.deepEqual(methodOptionDifferences(runs), [
      { field: 'replay.bufferSize', values: ['50', '100', 'not recorded'] },
      { field: 'lwf.t', values: ['2', 'default', 'not recorded'] },
    ]);
    assert.deepEqual(methodOptionDifferences([runs[0], {}]), [], 'one run with its options has nothing to differ from');
  });
});

describe('overlaid forgetting curves', () => {
  const runs = [
    { label: 'o1', results: run(['x', 'y', 'z'], { seq: method('seqlora', A as number[][]), mtl: method('mtl', null, [90, 80, 70]) }) },
    { label: 'o2', results: run(['z', 'x', 'y'], { seq: method('seqlora', B as number[][]) }, 0, [40, 60, 50]) },
  ];

  it('draws, on each task\'s panel, every run\'s method with its points at that run\'s stages', () => {
    const panels = overlayPanels(runs, 'method');
    assert.equal(panels.length, 3);
    assert.deepEqual(panels.map((p) => p.series.map((s) => s.key)), [['o1 · seq', 'o1 · mtl (joint)', 'o2 · seq'], ['o1 · seq', 'o1 · mtl (joint)', 'o2 · seq'], ['o1 · seq', 'o1 · mtl (joint)', 'o2 · seq']]);
    // Task x is o1's first and o2's second: o2 scores it from stage 2 on, column 1 of B.
    const x = panels[0].series;
    assert.deepEqual(x[0].points, [{ x: 1, y: 80 }, { x: 2, y: 70 }, { x: 3, y: 65 }]);
    assert.deepEqual(x[2].points, [{ x: 2, y: 80 }, { x: 3, y: 70 }]);
    // Coloured by method (seq first, mtl second), line style by run.
    assert.deepEqual(x.map((s) => s.color), [paletteColor(0), paletteColor(1), paletteColor(0)]);
    assert.deepEqual(x.map((s) => s.dash), [LINE_DASHES[0], LINE_DASHES[0], LINE_DASHES[1]]);
    const byRun = overlayPanels(runs, 'run')[0].series;
    assert.deepEqual(byRun.map((s) => s.color), [paletteColor(0), paletteColor(0), paletteColor(1)]);
    assert.deepEqual(byRun.map((s) => s.dash), [LINE_DASHES[0], LINE_DASHES[1], LINE_DASHES[0]]);
    assert.deepEqual(overlayLegend(runs, 'method').map((e) => e.label), ['o1 · seq', 'o1 · mtl (joint)', 'o2 · seq']);
    assert.equal(defaultColorBy(runs), 'method');
    assert.equal(defaultColorBy([runs[1], runs[1]]), 'run');
  });

  it('shows each task\'s baselines once, and a run\'s own where its task gives another value', () => {
    const panels = overlayPanels(runs, 'method');
    // Task x: majority 60 in o1, 60 in o2 (its second task): one line; chance 50 in o1, 25 in o2: two, named.
    assert.deepEqual(panels[0].baselines.map((b) => [b.label, b.points[0].y]), [['majority label', 60], ['chance (o1)', 50], ['chance (o2)', 25]]);
  });

  it('writes the overlay as SVG: a panel per task, a line per shown series plus the baselines, hidden series left out', () => {
    const doc = parseXml(overlayCurvesSvg(runs, 'T', 'method', new Set(['o2 · seq'])));
    const panels = findAll(doc, 'g').filter((g) => g.attrs.class === 'panel');
    assert.equal(panels.length, 3);
    assert.equal(findAll(panels[0], 'polyline').length, 2 + 3);
    assert.equal(findAll(doc, 'g').filter((g) => g.attrs.class === 'legend-entry').length, 2);
  });
});

describe('comparison names', () => {
  it('names files after the runs, shortened when they are many', () => {
    assert.equal(comparisonFileBase(['order 1', 'order 2']), 'compare-order-1-vs-order-2');
    const many = Array.from({ length: 9 }, (_, i) => `a long run title number ${i}`);
    assert.equal(comparisonFileBase(many), 'compare-a-long-run-title-number-0-and-8-more');
  });
  it('labels a results file by its name and makes repeated labels unique', () => {
    assert.equal(fileRunLabel('seqlora-results.json'), 'seqlora');
    assert.equal(fileRunLabel('results.json'), 'results');
    assert.deepEqual(uniqueLabels(['results', 'a', 'results', 'results']), ['results', 'a', 'results (2)', 'results (3)']);
  });
});
