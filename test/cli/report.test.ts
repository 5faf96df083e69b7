// `clora report`: the Markdown report's tables, the forgetting-curves and heatmap SVGs, results.json checks, and the command end to end.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { computeMetrics } from '../../src/cl/metrics.ts';
import type { MethodResult, RunResults } from '../../src/cl/runner.ts';
import { paletteColor } from '../../src/report/color-scale.ts';
import { comparisonFiles, runFolders } from '../../src/report/comparison.ts';
import { forgettingCurvesSvg, heatmapFiles, reportFiles, reportMarkdown } from '../../src/report/report.ts';
import { parseRunResults, parseRunResultsText } from '../../src/report/results-file.ts';
import { findAll, parseXml, type XmlElement } from '../helpers/xml.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ODD = 'beta <b>&"q"|x';
const SEQ = [[80, null, null], [70, 90, null], [60, 85, 75]];
const SINGLE = [85, 88, 70];

function result(method: string, matrix: MethodResult['matrix'], final: number[], trainSeconds: number[], evalSeconds: number[]): MethodResult {
  const finished = matrix !== null && matrix[matrix.length - 1].every((v) => v !== null);
  return {
    method, matrix, final, metrics: finished ? computeMetrics(matrix, SINGLE) : null,
    losses: [], routing: null, samples: [], timings: { trainSeconds, evalSeconds, tokensPerSecond: 123.4 },
  };
}

/** Three tasks (the second named with Markdown and XML markup), a finished method with FWT, a method still running, and a joint method. */
function sampleRun(): RunResults {
  return {
    version: 1,
    model: { arch: 'llama', params: 106816, layers: 2, hidden: 64 },
    device: 'test device',
    settings: {
      model: 'models/tiny', seed: 7, steps: 60, epochs: null, batchSize: 8, lr: 0.005, maxLength: 64, maxNewTokens: 4,
      lora: { rank: 4, alpha: 8, dropout: 0.05, targets: ['q_proj', 'v_proj'] }, evaluateUnseen: false, testFraction: 0.2, maxTrain: null, maxTest: 24, seqLen: 48,
    },
    tasks: [
      { name: 'alpha', metric: 'em', train: 96, test: 24, labels: ['no', 'yes'] },
      { name: ODD, metric: 'em', train: 90, test: 20, labels: ['cat', 'dog'] },
      { name: 'gamma', metric: 'rougeL', train: 80, test: 16, labels: null },
    ],
    methods: {
      seq: result('seqlora', SEQ, [60, 85, 75], [10, 20.5, 4], [1, 2, 0.5]),
      live: {
        ...result('sapt', [[50, null, null], [40, 45, null], [null, null, null]], [40, 45, 0], [5, 6], [1, 1]),
        // Stage 3 is not evaluated yet, so the table shows the weights measured after task 2.
        routing: [[[1], null, null], [[0.904, 0.096], [0.62, 0.38], null], [null, null, null]],
      },
      mtl: result('mtl', null, [90, 80, 70], [30], [3]),
    },
    singleTask: SINGLE,
    seconds: 84.2,
  };
}

/** The first pipe table after the line `heading`: its rows (header first, the delimiter row left out), cells trimmed. */
function tableAfter(md: string, heading: string): string[][] {
  const lines = md.split('\n');
  const from = lines.indexOf(heading);
  assert.ok(from >= 0, `no line ${heading}`);
  const start = lines.findIndex((l, i) => i > from && l.startsWith('|'));
  const rows: string[][] = [];
  for (let i = start; i < lines.length && lines[i].startsWith('|'); i++) {
    if (i === start + 1) continue;
    rows.push(lines[i].slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  }
  return rows;
}

const panels = (svg: XmlElement) => findAll(svg, 'g').filter((g) => g.attrs.class === 'panel');
const seriesOf = (panel: XmlElement) => findAll(panel, 'g').filter((g) => g.attrs.class === 'series');

describe('report.md', () => {
  const md = reportMarkdown(sampleRun(), heatmapFiles(sampleRun()), { title: 'Run #1 | <draft>' });

  it('has the metrics table in the run\'s method order, one decimal, blank where missing', () => {
    // seq: AP = (60 + 85 + 75) / 3, F.Ra = (20 + 5) / 2, BWT = (-20 - 5) / 2, FWT = (-5 + 2 + 5) / 3.
    assert.deepEqual(tableAfter(md, '## Metrics'), [
      ['Method', 'AP', 'F.Ra', 'BWT', 'FWT'],
      ['seq (seqlora)', '73.3', '12.5', '-12.5', '0.7'],
      ['live (sapt)', '', '', '', ''],
      ['mtl (joint)', '80.0', '', '', ''],
    ]);
  });

  it('has every method\'s score matrix, with blank cells where not evaluated', () => {
    const esc = 'beta \\<b\\>\\&"q"\\|x';
    assert.deepEqual(tableAfter(md, '### seq'), [
      ['Stage', '1: alpha', `2: ${esc}`, '3: gamma'],
      ['after 1: alpha', '80.0', '', ''],
      [`after 2: ${esc}`, '70.0', '90.0', ''],
      ['after 3: gamma', '60.0', '85.0', '75.0'],
    ]);
    const live = tableAfter(md, '### live');
    assert.deepEqual(live[2], [`after 2: ${esc}`, '40.0', '45.0', '']);
    assert.deepEqual(live[3], ['after 3: gamma', '', '', '']);
    assert.deepEqual(tableAfter(md, '### mtl'), [['Stage', '1: alpha', `2: ${esc}`, '3: gamma'], ['joint: all tasks', '90.0', '80.0', '70.0']]);
  });

  it('has the escaped title, the settings, the tasks with sizes and metrics, and the wall times', () => {
    assert.equal(md.split('\n')[0], '# Run #1 \\| \\<draft\\>');
    const settings = Object.fromEntries(tableAfter(md, '## Settings').slice(1));
    assert.equal(settings['Model'], 'models/tiny');
    assert.equal(settings['Steps per task'], '60');
    assert.equal(settings['Batch size'], '8');
    assert.equal(settings['Learning rate'], '0.005');
    assert.equal(settings['LoRA'], 'rank 4, alpha 8, dropout 0.05, on q\\_proj, v\\_proj');
    assert.equal(settings['Seed'], '7');
    assert.equal(settings['Max length'], '64 tokens (sequence length 48)');
    assert.deepEqual(tableAfter(md, '## Tasks'), [
      ['#', 'Task', 'Metric', 'Train', 'Test', 'Single-task score'],
      ['1', 'alpha', 'exact match', '96', '24', '85.0'],
      ['2', 'beta \\<b\\>\\&"q"\\|x', 'exact match', '90', '20', '88.0'],
      ['3', 'gamma', 'ROUGE-L', '80', '16', '70.0'],
    ]);
    assert.deepEqual(tableAfter(md, '## Wall time'), [
      ['Method', 'Training (s)', 'Evaluation (s)', 'Total (s)', 'Tokens/s (training)'],
      ['seq', '34.5', '3.5', '38.0', '123'],
      ['live', '11.0', '2.0', '13.0', '123'],
      ['mtl', '30.0', '3.0', '33.0', '123'],
    ]);
  });

  it('has the selector weights of a routed method at its last measured stage, with the top block', () => {
    assert.deepEqual(tableAfter(md, '### live, after task 2'), [
      ['Task', 'block 1', 'block 2', 'Top block'],
      ['1: alpha', '0.90', '0.10', '1 (own)'],
      ['2: beta \\<b\\>\\&"q"\\|x', '0.62', '0.38', '1'],
    ]);
    assert.equal(md.match(/^### .*after task/gm)?.length, 1, 'only the routed method gets a selector table');
    assert.ok(md.indexOf('## Selector weights') < md.indexOf('## Wall time'));
  });

  it('links the figures by relative paths', () => {
    const links = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    assert.deepEqual(links, ['forgetting-curves.svg', 'heatmap-seq.svg', 'heatmap-live.svg', 'heatmap-mtl.svg']);
  });
});

describe('report figures', () => {
  it('draws one panel per task with one polyline per method that has scores on it, and a legend of method colours', () => {
    const text = forgettingCurvesSvg(sampleRun(), 'Run');
    assert.ok(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'));
    const svg = parseXml(text);
    assert.equal(svg.name, 'svg');
    const ps = panels(svg);
    assert.deepEqual(ps.map((p) => findAll(p, 'title')[0].text), ['1: alpha (exact match)', `2: ${ODD} (exact match)`, '3: gamma (ROUGE-L)']);
    assert.ok(text.includes('2: beta &lt;b&gt;&amp;&quot;q&quot;|x (exact match)'));
    assert.ok(!text.includes('<b>'));
    // The running method has no score on task 3 yet; the joint one is a dashed flat line.
    assert.deepEqual(ps.map((p) => seriesOf(p).map((s) => findAll(s, 'title')[0].text)), [
      ['seq', 'live', 'mtl (joint)'], ['seq', 'live', 'mtl (joint)'], ['seq', 'mtl (joint)'],
    ]);
    for (const p of ps) {
      for (const s of seriesOf(p)) {
        const method = findAll(s, 'title')[0].text.replace(' (joint)', '');
        assert.deepEqual(findAll(s, 'polyline').map((l) => l.attrs.stroke), [paletteColor(['seq', 'live', 'mtl'].indexOf(method))]);
      }
    }
    const points = (p: XmlElement, i: number) => findAll(p, 'polyline')[i].attrs.points.split(' ').map((xy) => xy.split(',').map(Number));
    const seq0 = points(ps[0], 0);
    assert.equal(seq0.length, 3);
    // y falls as the score rises: 80 after task 1, 70 after task 2, 60 after task 3.
    assert.ok(seq0[0][1] < seq0[1][1] && seq0[1][1] < seq0[2][1]);
    assert.ok(Math.abs((seq0[2][1] - seq0[1][1]) - (seq0[1][1] - seq0[0][1])) < 0.02);
    const mtl = points(ps[2], 1);
    assert.equal(mtl.length, 2);
    assert.equal(mtl[0][1], mtl[1][1]);
    assert.equal(findAll(ps[2], 'polyline')[1].attrs['stroke-dasharray'], '6 4');
    const legend = findAll(svg, 'g').filter((g) => g.attrs.class === 'legend-entry');
    assert.deepEqual(legend.map((g) => findAll(g, 'text')[0].text), ['seq', 'live', 'mtl (joint)']);
    assert.deepEqual(legend.map((g) => findAll(g, 'line')[0].attrs.stroke), [0, 1, 2].map(paletteColor));
  });

  it('writes report.md, the curves and one well-formed heatmap per method, with distinct file names', () => {
    const files = reportFiles(sampleRun());
    assert.deepEqual(files.map((f) => f.name), ['report.md', 'forgetting-curves.svg', 'heatmap-seq.svg', 'heatmap-live.svg', 'heatmap-mtl.svg']);
    assert.equal(files[0].content.split('\n')[0], '# Continual-learning report');
    const heat = parseXml(files[2].content);
    assert.equal(findAll(heat, 'rect').length, 6, 'one cell per score of the lower triangle');
    const run = sampleRun();
    run.methods = { 'a b': run.methods.seq, 'a-b': run.methods.live, 'A/B': run.methods.mtl };
    assert.deepEqual(heatmapFiles(run), { 'a b': 'heatmap-a-b.svg', 'a-b': 'heatmap-a-b-2.svg', 'A/B': 'heatmap-A-B-3.svg' });
  });
});

/** The sample run with its tasks in reverse order and other scores: a second task order of the same stream. */
function reversedRun(): RunResults {
  const run = sampleRun();
  run.tasks = [...run.tasks].reverse();
  const matrix = [[70, null, null], [50, 80, null], [40, 60, 90]];
  run.methods = { seq: result('seqlora', matrix, [40, 60, 90], [9, 9, 9], [1, 1, 1]), mtl: result('mtl', null, [80, 80, 80], [30], [3]) };
  return run;
}

describe('report over several runs', () => {
  const runs = [{ label: 'order 1', results: sampleRun() }, { label: 'order 2', results: reversedRun() }];

  it('gives each metric per run and the mean over runs, blank where a run lacks it, and links each run\'s report', () => {
    const files = comparisonFiles(runs, 'Two orders');
    const md = files[0].content;
    assert.equal(files[0].name, 'report.md');
    assert.equal(md.split('\n')[0], '# Two orders');
    const ap = md.slice(md.indexOf('## AP'), md.indexOf('## F.Ra'));
    const seq1 = computeMetrics(SEQ, SINGLE).ap;
    const seq2 = computeMetrics([[70, null, null], [50, 80, null], [40, 60, 90]], SINGLE).ap;
    // Spread: the sample SD of two values is |a - b| / sqrt(2).
    assert.match(ap, new RegExp(`\\| seq \\| ${seq1.toFixed(1)} \\| ${seq2.toFixed(1)} \\| ${((seq1 + seq2) / 2).toFixed(1)} \\| ${(Math.abs(seq1 - seq2) / Math.SQRT2).toFixed(1)} \\|`));
    assert.match(ap, /\| live \|\s+\|\s+\|\s+\|\s+\|/, 'a method still running in run 1 and absent from run 2: blank, no mean, no spread');
    assert.match(ap, /\| mtl \| 80\.0 \| 80\.0 \| 80\.0 \| 0\.0 \| 2 \|/, 'n: two runs have the value');
    assert.match(md, /> The runs differ in task order \(order 1: alpha → .* → gamma; order 2: gamma → .* → alpha\), methods \(order 1: seq, live, mtl; order 2: seq, mtl\)\./);
    assert.doesNotMatch(md, /matched by position/, 'the same tasks in another order need no notice');
    assert.match(md, /\[order-1\/report\.md\]\(order-1\/report\.md\)/);
    assert.match(md, /gamma → beta/, 'the second run\'s task order');
    assert.deepEqual(files.filter((f) => f.name.endsWith('report.md')).map((f) => f.name), ['report.md', 'order-1/report.md', 'order-2/report.md']);
    // The runs' curves overlaid: a panel per task; on alpha (order 1's first, order 2's last), order 1's three methods and order 2's two.
    assert.match(md, /!\[Forgetting curves of the runs overlaid[^\]]*\]\(forgetting-curves\.svg\)/);
    const svg = parseXml(files.find((f) => f.name === 'forgetting-curves.svg')!.content);
    const panels = findAll(svg, 'g').filter((g) => g.attrs.class === 'panel');
    assert.equal(panels.length, 3);
    const titles = findAll(panels[0], 'g').filter((g) => g.attrs.class === 'series').map((g) => findAll(g, 'title')[0].text);
    assert.deepEqual(titles, ['order 1 · seq', 'order 1 · live', 'order 1 · mtl (joint)', 'order 2 · seq', 'order 2 · mtl (joint)']);
    assert.equal(files.find((f) => f.name === 'order-2/report.md')!.content.split('\n')[0], '# Two orders: order 2');
  });

  it('matches renamed tasks by position with a notice; refuses other task counts and a single run; folders stay distinct', () => {
    const renamed = sampleRun();
    renamed.tasks = renamed.tasks.map((t, i) => (i === 0 ? { ...t, name: 'delta' } : t));
    const md = comparisonFiles([runs[0], { label: 'x', results: renamed }], 't')[0].content;
    assert.match(md, /> The runs name their tasks differently, so tasks are matched by position \(task k of each run with task k of the others\): task 1 is "alpha" in "order 1", "delta" in "x"\./);
    assert.doesNotMatch(md, /differ in/, 'the same settings: no list of differences');
    const shorter = sampleRun();
    shorter.tasks = shorter.tasks.slice(0, 2);
    assert.throws(() => comparisonFiles([runs[0], { label: 'x', results: shorter }], 't'), /"x" has 2 tasks, "order 1" 3: runs compare only over the same number of tasks/);
    assert.throws(() => comparisonFiles([runs[0]], 't'), /at least two runs/);
    assert.deepEqual(runFolders([{ label: 'a b', results: sampleRun() }, { label: 'a-b', results: sampleRun() }]), ['a-b', 'a-b-2']);
  });
});

describe('parseRunResults', () => {
  const broken = (change: (r: Record<string, any>) => void): unknown => {
    const r = JSON.parse(JSON.stringify(sampleRun()));
    change(r);
    return r;
  };

  it('accepts a run, finished or not', () => {
    assert.deepEqual(parseRunResults(JSON.parse(JSON.stringify(sampleRun())), 'r.json'), sampleRun());
  });

  it('names the file and the field of a malformed run', () => {
    const cases: [unknown, string][] = [
      [[1, 2], 'r.json: not a clora results.json: expected a JSON object'],
      [broken((r) => (r.version = 2)), 'r.json: not a clora results.json: "version" must be 1, got 2'],
      [broken((r) => delete r.methods.live.timings), 'r.json: not a clora results.json: "methods.live.timings" must be an object'],
      [broken((r) => (r.methods.seq.matrix[1][0] = '70')), 'r.json: not a clora results.json: "methods.seq.matrix[1]" must be a list of numbers (or null)'],
      [broken((r) => (r.tasks[2].metric = 'bleu')), 'r.json: not a clora results.json: "tasks[2].metric" must be "em" or "rougeL"'],
      [broken((r) => (r.methods = {})), 'r.json: not a clora results.json: "methods" must be an object with at least one method'],
      [broken((r) => delete r.settings.lora), 'r.json: not a clora results.json: "settings.lora" must be an object'],
    ];
    for (const [json, message] of cases) assert.throws(() => parseRunResults(json, 'r.json'), { message });
  });

  it('reads a results file\'s text as the app opens it, naming the file and the line of bad JSON', () => {
    const text = JSON.stringify(sampleRun(), null, 2);
    assert.deepEqual(parseRunResultsText(text, 'results.json'), sampleRun());
    const cut = text.split('\n').slice(0, 7).join('\n');
    assert.throws(() => parseRunResultsText(cut, 'results.json'), (err: Error) => err.message.startsWith('results.json:7: invalid JSON'));
    assert.throws(() => parseRunResultsText('{"version": 1}', 'mine.json'), /^FormatError: mine\.json: not a clora results\.json: "model" must be an object$/);
  });
});

describe('clora report', () => {
  let work = '';
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'clora-report-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const clora = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/wgsl-loader.mjs', 'src/cli/main.ts', 'report', ...args], { cwd: ROOT, encoding: 'utf8' });
  const file = (name: string, content: string) => {
    const p = join(work, name);
    writeFileSync(p, content);
    return p;
  };

  it('writes the report files into --out and prints what it wrote', () => {
    const results = file('results.json', JSON.stringify(sampleRun(), null, 2));
    const out = join(work, 'report', 'nested');
    const res = clora(results, '--out', out, '--title', 'Seven tasks');
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stderr, '');
    const printed = JSON.parse(res.stdout) as { out: string; files: string[] };
    assert.equal(printed.out, out);
    const expected = reportFiles(sampleRun(), { title: 'Seven tasks' });
    assert.deepEqual(printed.files, expected.map((f) => f.name));
    for (const f of expected) assert.equal(readFileSync(join(out, f.name), 'utf8'), f.content, f.name);
  });

  it('writes the comparison of two runs with each run\'s report in its folder', () => {
    const a = file('a.json', JSON.stringify(sampleRun()));
    const b = file('b.json', JSON.stringify(reversedRun()));
    const out = join(work, 'both');
    const res = clora(a, b, '--out', out, '--title', 'Orders', '--names', 'order 1, order 2');
    assert.equal(res.status, 0, res.stderr);
    const printed = JSON.parse(res.stdout) as { files: string[] };
    assert.ok(printed.files.includes('order-2/forgetting-curves.svg'), printed.files.join(', '));
    for (const f of printed.files) assert.ok(existsSync(join(out, f)), f);
    assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /^# Orders\n/);
    const mismatch = clora(a, b, '--out', out, '--names', 'only one');
    assert.equal(mismatch.status, 2);
    assert.match(mismatch.stderr, /--names: 1 names for 2 results files/);
    const empty = clora(a, b, '--out', out, '--names', 'first,');
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /--names: name 2 of 2 is empty/);
  });

  it('fails with one line naming a malformed or missing file (exit 1) and on bad usage (exit 2)', () => {
    const errorLine = (res: ReturnType<typeof clora>) => {
      const lines = res.stderr.trim().split('\n');
      assert.equal(lines.length, 1, res.stderr);
      return lines[0];
    };
    const bad = file('bad.json', '{"version": 1, "methods": ');
    let res = clora(bad, '--out', join(work, 'bad-out'));
    assert.equal(res.status, 1);
    assert.match(errorLine(res), new RegExp(`^clora: error: ${bad.replace(/[.\\/]/g, '\\$&')}: invalid JSON: `));
    assert.ok(!existsSync(join(work, 'bad-out')), 'nothing is written for a bad file');
    const wrong = file('wrong.json', JSON.stringify({ version: 1, tasks: [] }));
    res = clora(wrong, '--out', join(work, 'bad-out'));
    assert.equal(res.status, 1);
    assert.equal(errorLine(res), `clora: error: ${wrong}: not a clora results.json: "model" must be an object`);
    res = clora(join(work, 'none.json'), '--out', join(work, 'bad-out'));
    assert.equal(res.status, 1);
    assert.equal(errorLine(res), `clora: error: ${join(work, 'none.json')}: no such file`);
    res = clora(bad);
    assert.equal(res.status, 2);
    assert.equal(errorLine(res), 'clora: error: report needs --out DIR');
  });
});
