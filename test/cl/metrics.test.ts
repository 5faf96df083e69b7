// Continual-learning metrics on small hand-made score matrices whose expected values are worked out by hand.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { computeMetrics, METRIC_DEFINITIONS, validateMatrix, validateSingleScores, type ScoreMatrix } from '../../src/cl/metrics.ts';

const close = (actual: number | null, expected: number, what: string) => {
  assert.ok(actual !== null, `${what} is null`);
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);
};

describe('computeMetrics', () => {
  // Rows = after training task 1, 2, 3; columns = tasks 1, 2, 3 (percent).
  // a[1][2] = 95 and a[1][3] = 5 lie above the diagonal (task not learnt yet).
  const m3: ScoreMatrix = [
    [80, 95, 5],
    [70, 90, 20],
    [60, 85, 75],
  ];

  it('computes AP, F.Ra, BWT and FWT of a 3x3 matrix', () => {
    // AP   = (60 + 85 + 75) / 3 = 220 / 3 = 73.333...
    // F.Ra: task 1: max(a[1][1], a[2][1]) - a[3][1] = max(80, 70) - 60 = 20
    //       task 2: max(a[2][2]) - a[3][2] = 90 - 85 = 5   (a[1][2] = 95 is before task 2 is learnt)
    //       F.Ra = (20 + 5) / 2 = 12.5
    // BWT  = ((60 - 80) + (85 - 90)) / 2 = (-20 - 5) / 2 = -12.5
    // FWT with s = [85, 88, 70]: ((80 - 85) + (90 - 88) + (75 - 70)) / 3 = (-5 + 2 + 5) / 3 = 2/3
    const r = computeMetrics(m3, [85, 88, 70]);
    assert.equal(r.tasks, 3);
    close(r.ap, 73.33333333333333, 'AP');
    close(r.fra, 12.5, 'F.Ra');
    close(r.bwt, -12.5, 'BWT');
    close(r.fwt, 0.6666666666666666, 'FWT');
    assert.deepEqual(r.final, [60, 85, 75]);
    assert.deepEqual(r.diagonal, [80, 90, 75]);
    assert.deepEqual(r.forgetting, [20, 5]);
    assert.deepEqual(r.curves, [[80, 70, 60], [95, 90, 85], [5, 20, 75]]);
  });

  it('takes the best earlier score, not the diagonal, for forgetting (4x4 with nulls above the diagonal)', () => {
    const m: ScoreMatrix = [
      [50, null, null, null],
      [60, 40, null, null],
      [55, 70, 30, null],
      [45, 65, 35, 80],
    ];
    // AP   = (45 + 65 + 35 + 80) / 4 = 225 / 4 = 56.25
    // forgetting: task 1: max(50, 60, 55) - 45 = 15; task 2: max(40, 70) - 65 = 5; task 3: max(30) - 35 = -5
    // F.Ra = (15 + 5 - 5) / 3 = 5
    // BWT  = ((45 - 50) + (65 - 40) + (35 - 30)) / 3 = (-5 + 25 + 5) / 3 = 25/3 = 8.333...
    const r = computeMetrics(m);
    close(r.ap, 56.25, 'AP');
    assert.deepEqual(r.forgetting, [15, 5, -5]);
    close(r.fra, 5, 'F.Ra');
    close(r.bwt, 8.333333333333334, 'BWT');
    assert.equal(r.fwt, null, 'no single-task scores, no FWT');
    assert.deepEqual(r.curves[3], [null, null, null, 80]);
  });

  it('skips null cells below the diagonal in the forgetting maximum', () => {
    const m: ScoreMatrix = [
      [50, null, null, null],
      [null, 40, null, null], // task 1 not evaluated after task 2
      [55, 70, 30, null],
      [45, 65, 35, 80],
    ];
    // task 1: max(50, 55) - 45 = 10 (the 60 of the previous test is gone); tasks 2, 3 as before: 5, -5
    // F.Ra = (10 + 5 - 5) / 3 = 10/3; BWT unchanged = 25/3
    const r = computeMetrics(m);
    assert.deepEqual(r.forgetting, [10, 5, -5]);
    close(r.fra, 10 / 3, 'F.Ra');
    close(r.bwt, 25 / 3, 'BWT');
    assert.deepEqual(r.curves[0], [50, null, 55, 45]);
  });

  it('gives null F.Ra and BWT for a single task', () => {
    // T = 1: AP = 42; FWT = 42 - 40 = 2
    const r = computeMetrics([[42]], [40]);
    assert.equal(r.tasks, 1);
    close(r.ap, 42, 'AP');
    assert.equal(r.fra, null);
    assert.equal(r.bwt, null);
    close(r.fwt, 2, 'FWT');
    assert.deepEqual(r.forgetting, []);
    assert.deepEqual(r.curves, [[42]]);
  });

  it('keeps the unit of the matrix (fractions stay fractions)', () => {
    // AP = (0.4 + 0.9) / 2 = 0.65; F.Ra = 0.5 - 0.4 = 0.1; BWT = 0.4 - 0.5 = -0.1
    const r = computeMetrics([[0.5, 0.1], [0.4, 0.9]]);
    close(r.ap, 0.65, 'AP');
    close(r.fra, 0.09999999999999998, 'F.Ra');
    close(r.bwt, -0.09999999999999998, 'BWT');
  });

  it('gives null FWT when a single-task score is missing', () => {
    assert.equal(computeMetrics(m3, [85, null, 70]).fwt, null);
  });

  it('rejects single-task scores of the wrong length or type', () => {
    assert.throws(() => computeMetrics(m3, [1, 2]), /single-task scores: 2 single-task scores for a matrix of 3 tasks/);
    assert.throws(() => validateSingleScores([1, 'x', 3], 3, 's.json'), /^Error: s\.json: entry 2: expected a finite number or null, got the string "x"$/);
    assert.throws(() => validateSingleScores({}, 3, 's.json'), /s\.json: expected an array/);
    assert.throws(() => validateSingleScores([1, Infinity, 3], 3), /entry 2: expected a finite number or null, got Infinity/);
  });

  it('defines every reported metric in one line', () => {
    for (const key of ['ap', 'fra', 'bwt', 'fwt', 'final', 'forgetting', 'curves'] as const) {
      assert.ok(METRIC_DEFINITIONS[key].length > 10 && !METRIC_DEFINITIONS[key].includes('\n'), key);
    }
    assert.match(METRIC_DEFINITIONS.fra, /^F\.Ra = /);
  });
});

describe('validateMatrix', () => {
  const bad = (m: unknown, re: RegExp) => assert.throws(() => validateMatrix(m, 'run.json'), (err: Error) => {
    assert.match(err.message, /^run\.json: /);
    assert.match(err.message, re);
    return true;
  });

  it('accepts a valid matrix and names "matrix" by default', () => {
    validateMatrix([[1, null], [2, 3]]);
    assert.throws(() => validateMatrix(5), /^Error: matrix: expected an array of rows/);
  });
  it('rejects what is not an array of arrays', () => {
    bad({ rows: [] }, /expected an array of rows \(an array of arrays of scores\), got an object/);
    bad('[[1]]', /got the string/);
    bad([1, 2], /row 1 is 1, expected an array of scores/);
    bad([[1, 2], null], /row 2 is null, expected an array/);
  });
  it('rejects an empty matrix', () => bad([], /empty/));
  it('rejects ragged rows', () => bad([[1, 2], [3]], /ragged rows: row 2 has 1 score but row 1 has 2/));
  it('rejects a matrix that is not square, saying T rows and T columns', () => {
    bad([[1, 2], [3, 4], [5, 6]], /3 rows but 2 columns; a run over T tasks needs T rows \(one per training stage\) and T columns \(one per task\)/);
    bad([[1, 2]], /1 row but 2 columns/);
  });
  it('rejects non-finite numbers and other values, naming the cell', () => {
    bad([[1, NaN], [2, 3]], /row 1, column 2: expected a finite number or null, got NaN/);
    bad([[1, 0], [-Infinity, 3]], /row 2, column 1: expected a finite number or null, got -Infinity/);
    bad([[1, 0], [2, '3']], /row 2, column 2: expected a finite number or null, got the string "3"/);
    bad([[true]], /row 1, column 1: expected a finite number or null, got a boolean/);
    bad([[[1]]], /row 1, column 1: expected a finite number or null, got an array/);
  });
  it('rejects a null on the diagonal', () => {
    bad([[1, null, null], [2, null, null], [3, 4, 5]], /row 2, column 2 is null, but the diagonal \(task 2's score right after training it\) is needed/);
  });
  it('rejects a null in the last row', () => {
    bad([[1, null, null], [2, 3, null], [null, 4, 5]], /row 3, column 1 is null, but the last row \(task 1's score after training the last task\) is needed by AP, F\.Ra and BWT/);
  });
  it('computeMetrics validates too', () => {
    assert.throws(() => computeMetrics([[1, 2]] as ScoreMatrix), /^Error: matrix: 1 row but 2 columns/);
  });
});
