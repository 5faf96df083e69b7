// Pure helpers of the results view (CSV, heatmap SVG, colour scale, chart series, tables) on small hand-made RunResults.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { computeMetrics } from '../../src/cl/metrics.ts';
import type { MethodResult, RunResults } from '../../src/cl/runner.ts';
import {
  contrastRatio, contrastText, DARK_TEXT, hexToOklab, LIGHT_TEXT, lightness, METHOD_PALETTE, NO_SCORE_COLOR, oklabToHex, paletteColor, SCORE_STOPS, scoreColor,
} from '../../src/report/color-scale.ts';
import { csvField, metricsCsv, scoresCsv, toCsv } from '../../src/ui/results/csv.ts';
import { heatmapSvg } from '../../src/report/heatmap-svg.ts';
import { escapeXml } from '../../src/report/svg.ts';
import { downsample, forgettingSeries, lossSeries, methodColors } from '../../src/report/series.ts';
import {
  bestMetrics, completedStages, fileSlug, formatScore, formatSigned, lastRouting, metricsRows, sampleRows, stageRows,
} from '../../src/report/tables.ts';
import { parseXml } from '../helpers/xml.ts';

function method(over: Partial<MethodResult> & Pick<MethodResult, 'method' | 'matrix'>): MethodResult {
  return {
    final: [], metrics: null, losses: [], routing: null, samples: [],
    timings: { trainSeconds: [], evalSeconds: [], tokensPerSecond: 0 },
    ...over,
  };
}

/** Three tasks; the second name needs CSV quoting and XML escaping. */
function makeResults(methods: Record<string, MethodResult>): RunResults {
  return {
    version: 1,
    model: { arch: 'llama', params: 1000, layers: 2, hidden: 16 },
    device: 'test',
    settings: {
      model: 'tiny', seed: 0, steps: 2, epochs: null, batchSize: 2, lr: 1e-3, maxLength: 64, maxNewTokens: 4,
      lora: { rank: 4, alpha: 8, dropout: 0, targets: ['q_proj'] }, evaluateUnseen: false, testFraction: 0.2, maxTrain: null, maxTest: null, seqLen: 32,
    },
    tasks: [
      { name: 'dbpedia', metric: 'em', train: 10, test: 4, labels: ['a', 'b'] },
      { name: 'amazon, "v2"\n<b>&', metric: 'em', train: 10, test: 4, labels: ['x'] },
      { name: 'yahoo', metric: 'rougeL', train: 10, test: 4, labels: null },
    ],
    methods,
    singleTask: null,
    seconds: 12,
  };
}

const SEQ_MATRIX = [
  [80, null, null],
  [70, 90, null],
  [60, 85, 75],
];

/** A finished sequential method, a run still going (rows 2 and 3 partly missing), a joint method, and a joint method not evaluated yet. */
function sample(): RunResults {
  return makeResults({
    seq: method({
      method: 'seqlora', matrix: SEQ_MATRIX, final: [60, 85, 75], metrics: computeMetrics(SEQ_MATRIX),
      losses: [
        { task: 0, phase: 'train', step: 0, loss: 3 },
        { task: 0, phase: 'train', step: 1, loss: 2 },
        { task: 1, phase: 'train', step: 0, loss: 2.5 },
        { task: 1, phase: 'selector', step: 0, loss: 0.7 },
        { task: 1, phase: 'train', step: 1, loss: 1.5 },
      ],
      samples: [
        [{ input: 'q1', gold: 'a', prediction: 'a' }, { input: 'q2', gold: 'b', prediction: 'a' }],
        [],
        [{ input: 'y1', gold: 'long answer', prediction: 'long' }],
      ],
    }),
    live: method({
      method: 'sapt', matrix: [[50, null, null], [40, 45, null], [null, null, null]], final: [40, 45, 0],
      routing: [[[1], null, null], [[0.25, 0.75], [0.1, 0.9], null], [null, null, null]],
      samples: [[{ input: 'q2', gold: 'b', prediction: 'b' }, { input: 'q3', gold: 'c', prediction: 'c' }]],
    }),
    mtl: method({ method: 'mtl', matrix: null, final: [90, 80, 70] }),
    pending: method({ method: 'mtl', matrix: null, final: [] }),
  });
}

describe('toCsv', () => {
  it('leaves plain fields alone and ends every line with CRLF', () => {
    assert.equal(toCsv([['method', 'score'], ['seq', 60], ['mtl', null]]), 'method,score\r\nseq,60\r\nmtl,\r\n');
  });

  it('quotes commas, quotes, line breaks and edge spaces, doubling inner quotes', () => {
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('line1\nline2'), '"line1\nline2"');
    assert.equal(csvField('cr\rhere'), '"cr\rhere"');
    assert.equal(csvField(' padded'), '" padded"');
    assert.equal(csvField(-12.5), '-12.5');
    assert.equal(csvField(Number.NaN), '');
    assert.equal(toCsv([['amazon, "v2"\n<b>&', 1]]), '"amazon, ""v2""\n<b>&",1\r\n');
  });

  it('writes one scores row per method x stage x task, joint methods as a single stage', () => {
    const r = sample();
    const lines = scoresCsv(r).split('\r\n');
    assert.equal(lines[0], 'method,stage,trained_task,task_index,task,score');
    // seq: 3 stages x 3 tasks; live: 9; mtl: 1 x 3; pending: 1 x 3; plus header and the empty string after the last CRLF.
    assert.equal(lines.length, 1 + 9 + 9 + 3 + 3 + 1);
    assert.equal(lines[1], 'seq,1,dbpedia,1,dbpedia,80');
    assert.equal(lines[2], 'seq,1,dbpedia,2,"amazon, ""v2""\n<b>&",');
    assert.equal(lines[6], 'seq,2,"amazon, ""v2""\n<b>&",3,yahoo,');
    assert.equal(lines[9], 'seq,3,yahoo,3,yahoo,75');
    assert.equal(lines[17], 'live,3,yahoo,2,"amazon, ""v2""\n<b>&",');
    assert.equal(lines[19], 'mtl,1,all (joint),1,dbpedia,90');
    assert.equal(lines[21], 'mtl,1,all (joint),3,yahoo,70');
    assert.equal(lines[22], 'pending,1,all (joint),1,dbpedia,');
    assert.equal(lines[25], '');
  });

  it('writes the metrics CSV with empty fields for missing metrics', () => {
    assert.equal(
      metricsCsv(sample()),
      'method,algorithm,joint,ap,fra,bwt,fwt\r\n' +
        `seq,seqlora,no,${220 / 3},12.5,-12.5,\r\n` +
        'live,sapt,no,,,,\r\n' +
        'mtl,mtl,yes,80,,,\r\n' +
        'pending,mtl,yes,,,,\r\n',
    );
  });
});

/** Checks that `xml` is well formed enough for a browser: balanced tags, quoted attributes, only known entities. */
const assertWellFormed = (xml: string): void => void parseXml(xml);

describe('heatmapSvg', () => {
  const r = sample();
  const input = {
    title: 'seq & "friends" <3',
    rowLabels: stageRows(r, 'seq').map((s) => s.label),
    columnLabels: r.tasks.map((t, i) => `${i + 1}: ${t.name}`),
    cells: stageRows(r, 'seq').map((s) => s.cells),
  };

  it('escapes markup characters and drops characters XML forbids', () => {
    assert.equal(escapeXml(`<a href="x">Tom & 'Jerry'</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;');
    assert.equal(escapeXml('bell\u0007 tab\t nl\n'), 'bell tab\t nl\n');
    assert.equal(escapeXml('lone \uD800 surrogate, pair \uD83D\uDE00'), 'lone  surrogate, pair \uD83D\uDE00');
  });

  it('is well-formed XML with every name escaped', () => {
    const svg = heatmapSvg(input);
    assert.ok(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'));
    assertWellFormed(svg);
    assert.ok(svg.includes('seq &amp; &quot;friends&quot; &lt;3'));
    assert.ok(svg.includes('2: amazon, &quot;v2&quot;\n&lt;b&gt;&amp;'));
    assert.ok(!svg.includes('<b>'));
  });

  it('draws one rect per non-null cell, in the scale colour, with the score printed', () => {
    const svg = heatmapSvg(input);
    const rects = [...svg.matchAll(/<rect [^>]*fill="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
    // SEQ_MATRIX has 6 non-null cells, read row by row.
    assert.deepEqual(rects, [80, 70, 90, 60, 85, 75].map((v) => scoreColor(v)));
    for (const v of ['80.0', '70.0', '90.0', '60.0', '85.0', '75.0']) assert.ok(svg.includes(`>${v}</text>`), v);
    const empty = heatmapSvg({ ...input, cells: [[null, null, null], [null, null, null], [null, null, null]] });
    assert.equal((empty.match(/<rect/g) ?? []).length, 0);
    assertWellFormed(empty);
  });
});

describe('score colour scale', () => {
  it('hits the end stops exactly and clamps outside 0..100', () => {
    assert.equal(scoreColor(0), '#440154');
    assert.equal(scoreColor(100), '#fde725');
    assert.equal(scoreColor(50), SCORE_STOPS[2]);
    assert.equal(scoreColor(-20), '#440154');
    assert.equal(scoreColor(140), '#fde725');
    assert.equal(scoreColor(Number.NaN), NO_SCORE_COLOR);
    // Another range: 0.5 of [0, 1] is the middle stop.
    assert.equal(scoreColor(0.5, 0, 1), SCORE_STOPS[2]);
  });

  it('gets strictly lighter as the score rises', () => {
    let prev = -Infinity;
    for (let s = 0; s <= 100; s += 0.5) {
      const l = lightness(scoreColor(s));
      assert.ok(l > prev, `lightness at ${s} (${l}) is not above the one before (${prev})`);
      prev = l;
    }
    assert.ok(lightness(scoreColor(0)) < 0.35 && lightness(scoreColor(100)) > 0.9);
  });

  it('gives methods colours far apart in OKLab and visible on both themes', () => {
    // Surfaces of the light and dark themes (src/ui/styles.css --surface).
    for (const c of METHOD_PALETTE) {
      assert.ok(contrastRatio(c, '#ffffff') >= 3, `${c} on the light surface: ${contrastRatio(c, '#ffffff')}`);
      assert.ok(contrastRatio(c, '#171a21') >= 3, `${c} on the dark surface: ${contrastRatio(c, '#171a21')}`);
    }
    // Every pair at least 0.15 apart (OKLab Euclidean distance; 0.02 is about a just-noticeable difference).
    for (let i = 0; i < METHOD_PALETTE.length; i++) {
      for (let j = 0; j < i; j++) {
        const [a, b] = [hexToOklab(METHOD_PALETTE[i]), hexToOklab(METHOD_PALETTE[j])];
        const d = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
        assert.ok(d >= 0.15, `${METHOD_PALETTE[j]} and ${METHOD_PALETTE[i]} are ${d.toFixed(3)} apart`);
      }
    }
  });

  it('round-trips colours through OKLab', () => {
    for (const hex of ['#000000', '#ffffff', '#21918c', '#f43f5e']) assert.equal(oklabToHex(hexToOklab(hex)), hex);
    assert.ok(Math.abs(hexToOklab('#ffffff')[0] - 1) < 1e-6);
  });

  it('puts readable text on every cell colour', () => {
    assert.equal(contrastText(scoreColor(0)), LIGHT_TEXT);
    assert.equal(contrastText(scoreColor(100)), DARK_TEXT);
    for (let s = 0; s <= 100; s++) {
      const bg = scoreColor(s);
      assert.ok(contrastRatio(bg, contrastText(bg)) >= 4.2, `score ${s}: contrast ${contrastRatio(bg, contrastText(bg))}`);
    }
    assert.ok(Math.abs(contrastRatio('#000000', '#ffffff') - 21) < 1e-9);
  });
});

describe('forgettingSeries', () => {
  const r = sample();
  const curves = forgettingSeries(r);
  const byMethod = (t: number) => Object.fromEntries(curves[t].series.map((s) => [s.method, s]));

  it('reads each task column down the rows, skipping nulls of a partial matrix', () => {
    assert.equal(curves.length, 3);
    assert.deepEqual(curves.map((c) => c.name), r.tasks.map((t) => t.name));
    const t0 = byMethod(0);
    assert.deepEqual(Object.keys(t0), ['seq', 'live', 'mtl']);
    assert.deepEqual(t0.seq.points, [{ x: 1, y: 80 }, { x: 2, y: 70 }, { x: 3, y: 60 }]);
    assert.deepEqual(t0.live.points, [{ x: 1, y: 50 }, { x: 2, y: 40 }]);
    assert.equal(t0.seq.kind, 'curve');
    assert.equal(t0.seq.dashed, false);
    assert.equal(curves[0].points, 3 + 2 + 2);
    const t1 = byMethod(1);
    assert.deepEqual(t1.seq.points, [{ x: 2, y: 90 }, { x: 3, y: 85 }]);
    assert.deepEqual(t1.live.points, [{ x: 2, y: 45 }]);
  });

  it('drops methods without a score on the task and draws joint methods as flat reference lines', () => {
    const t2 = byMethod(2);
    assert.deepEqual(Object.keys(t2), ['seq', 'mtl']);
    assert.deepEqual(t2.seq.points, [{ x: 3, y: 75 }]);
    assert.deepEqual(t2.mtl.points, [{ x: 1, y: 70 }, { x: 3, y: 70 }]);
    assert.equal(t2.mtl.kind, 'reference');
    assert.equal(t2.mtl.dashed, true);
    assert.equal(t2.mtl.label, 'mtl (joint)');
    assert.equal(curves[2].points, 3);
  });

  it('colours methods by their position in the run, the same in every chart', () => {
    const colors = methodColors(r);
    for (const c of curves) for (const s of c.series) assert.equal(s.color, colors[s.method]);
    assert.deepEqual(colors, { seq: paletteColor(0), live: paletteColor(1), mtl: paletteColor(2), pending: paletteColor(3) });
  });

  it('gives a single point to a joint method over one task, and nothing for a run without methods', () => {
    const one = makeResults({ mtl: method({ method: 'mtl', matrix: null, final: [55] }) });
    one.tasks = one.tasks.slice(0, 1);
    assert.deepEqual(forgettingSeries(one)[0].series[0].points, [{ x: 1, y: 55 }]);
    const none = forgettingSeries(makeResults({}));
    assert.deepEqual(none.map((c) => [c.series.length, c.points]), [[0, 0], [0, 0], [0, 0]]);
  });
});

describe('lossSeries and downsample', () => {
  it('numbers every recorded step of a method globally and splits phases', () => {
    const s = lossSeries(sample());
    assert.deepEqual(s.map((x) => [x.label, x.phase, x.dashed]), [['seq', 'train', false], ['seq (selector)', 'selector', true]]);
    assert.deepEqual(s[0].points, [{ x: 1, y: 3 }, { x: 2, y: 2 }, { x: 3, y: 2.5 }, { x: 5, y: 1.5 }]);
    assert.deepEqual(s[1].points, [{ x: 4, y: 0.7 }]);
  });

  it('averages equal buckets down to the limit', () => {
    const pts = [1, 2, 3, 4, 5, 6].map((x) => ({ x, y: x * 10 }));
    assert.deepEqual(downsample(pts, 3), [{ x: 1.5, y: 15 }, { x: 3.5, y: 35 }, { x: 5.5, y: 55 }]);
    assert.deepEqual(downsample(pts, 10), pts);
    assert.equal(downsample(Array.from({ length: 1001 }, (_, i) => ({ x: i, y: 0 })), 100).length, 100);
    assert.throws(() => downsample(pts, 0), /at least 1/);
  });
});

describe('results tables', () => {
  const r = sample();

  it('takes metrics from the run, the AP of a joint method from its final scores, and nulls elsewhere', () => {
    const rows = metricsRows(r);
    assert.deepEqual(rows.map((x) => x.method), ['seq', 'live', 'mtl', 'pending']);
    assert.ok(Math.abs(rows[0].ap! - 220 / 3) < 1e-12);
    assert.deepEqual([rows[0].fra, rows[0].bwt, rows[0].fwt], [12.5, -12.5, null]);
    assert.deepEqual([rows[1].ap, rows[1].fra, rows[1].bwt, rows[1].fwt], [null, null, null, null]);
    assert.deepEqual([rows[2].joint, rows[2].ap, rows[2].fra], [true, 80, null]);
    assert.equal(rows[3].ap, null);
    // Joint methods are not candidates for "best": AP 80 of mtl is not picked.
    assert.deepEqual(bestMetrics(rows), { ap: 220 / 3, fra: 12.5, bwt: -12.5, fwt: null });
  });

  it('picks the lowest forgetting and the highest of the others', () => {
    const rows = [
      { method: 'a', algorithm: 'a', joint: false, ap: 50, fra: 10, bwt: -10, fwt: 1, vacuous: [] },
      { method: 'b', algorithm: 'b', joint: false, ap: 60, fra: 20, bwt: -20, fwt: -1, vacuous: [] },
    ];
    assert.deepEqual(bestMetrics(rows, 3), { ap: 60, fra: 10, bwt: -10, fwt: 1 });
  });

  it('pads stage rows to T cells and labels them by the trained task', () => {
    const live = stageRows(r, 'live');
    assert.deepEqual(live.map((x) => x.label), ['after 1: dbpedia', 'after 2: amazon, "v2"\n<b>&', 'after 3: yahoo']);
    assert.deepEqual(live.map((x) => x.cells), [[50, null, null], [40, 45, null], [null, null, null]]);
    assert.deepEqual(stageRows(r, 'mtl'), [{ stage: 0, label: 'joint: all tasks', cells: [90, 80, 70] }]);
    assert.deepEqual(stageRows(r, 'pending')[0].cells, [null, null, null]);
    assert.deepEqual(completedStages(r.methods.live), [0, 1]);
    assert.deepEqual(completedStages(r.methods.seq), [0, 1, 2]);
    assert.deepEqual(completedStages(r.methods.mtl), [0]);
    assert.deepEqual(completedStages(r.methods.pending), []);
  });

  it('shows the routing of the last stage that has any', () => {
    assert.deepEqual(lastRouting(r.methods.live.routing), { stage: 1, blocks: 2, rows: [{ task: 0, weights: [0.25, 0.75], top: 1 }, { task: 1, weights: [0.1, 0.9], top: 1 }] });
    assert.equal(lastRouting(null), null);
    assert.equal(lastRouting([[null, null], [null, null]]), null);
  });

  it('lines sample predictions up by example across methods', () => {
    assert.deepEqual(sampleRows(r, 0), [
      { input: 'q1', gold: 'a', predictions: ['a', null, null, null] },
      { input: 'q2', gold: 'b', predictions: ['a', 'b', null, null] },
      { input: 'q3', gold: 'c', predictions: [null, 'c', null, null] },
    ]);
    assert.deepEqual(sampleRows(r, 1), []);
    assert.deepEqual(sampleRows(r, 2), [{ input: 'y1', gold: 'long answer', predictions: ['long', null, null, null] }]);
  });

  it('formats numbers and file names', () => {
    assert.equal(formatScore(73.333), '73.3');
    assert.equal(formatScore(null), '—');
    assert.equal(formatSigned(-12.5), '−12.5');
    assert.equal(formatSigned(2), '+2.0');
    assert.equal(formatSigned(-0.01), '0.0');
    assert.equal(formatSigned(null), '—');
    assert.equal(fileSlug('amazon, "v2"\n<b>&'), 'amazon-v2-b');
    assert.equal(fileSlug('Résumé task'), 'Resume-task');
    assert.equal(fileSlug('///'), 'unnamed');
  });
});
