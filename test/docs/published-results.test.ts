// The published real-data results are what their runs gave: docs/results/real-stream (every method, at db92f5d) and
// docs/results/real-stream-merge (the merging methods beside the oracle and SeqLoRA, on later code) are `clora report`'s
// output for the committed results.json files, byte for byte, and README.md, docs/RESULTS.md and BENCHMARKS.md quote
// tables made from those same files.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ALL_METHODS, baselinesTable, detailSections, MERGING, publishedFiles, publishedResultsFiles, readRuns, ROOT, summaryTable, type PublishedSet,
} from '../../scripts/results/publish-real-stream.ts';

const doc = (name: string) => readFileSync(join(ROOT, name), 'utf8');

/**
 * The checks every published set gets: `methods` its finished methods, sorted; `routed` the methods whose selector
 * weights BENCHMARKS.md shows; `partial`: the runs were published before their end (later methods missing, and no
 * single-task scores, which a run records when it ends).
 */
function publishedSetChecks(set: PublishedSet, methods: readonly string[], routed: number, docs: readonly string[], partial = false): void {
  const runs = readRuns(publishedResultsFiles(set), set);

  it(`are runs of every method over the same six tasks, in ${runs.length === 2 ? 'two orders' : 'one order'}`, () => {
    assert.equal(runs.length, set.orders.length);
    const [first, second] = runs.map((r) => r.results);
    assert.equal(first.tasks.length, 6);
    if (second) assert.deepEqual(second.tasks.map((t) => t.name), first.tasks.map((t) => t.name).reverse());
    for (const r of runs.map((x) => x.results)) {
      assert.deepEqual(Object.keys(r.methods).sort(), [...methods]);
      if (!partial) assert.ok(Array.isArray(r.singleTask), 'the run finished with the oracle, so FWT has its single-task scores');
      for (const [name, m] of Object.entries(r.methods)) {
        assert.ok(m.final.every((v) => v !== null), `${name}: every task has a final score`);
        if (name !== 'mtl') assert.ok(m.metrics, `${name}: metrics`);
      }
    }
  });

  it('has the report clora report writes for them, byte for byte', () => {
    // The results.json files are the inputs; every other file is made from them.
    const made = publishedFiles(runs, set).filter((f) => !f.name.endsWith('/results.json'));
    assert.ok(made.length >= (runs.length === 2 ? 1 : 0) + runs.length * (2 + methods.length), `${made.length} report files`);
    for (const f of made) {
      assert.equal(readFileSync(join(ROOT, set.dir, f.name), 'utf8'), f.content, `${set.dir}/${f.name}`);
    }
  });

  it(`${docs.join(' and ')} quote${docs.length === 1 ? 's' : ''} the metrics of those runs`, () => {
    for (const name of docs) assert.ok(doc(name).includes(summaryTable(runs)), `${name} has the table summaryTable() makes (scripts/results/publish-real-stream.ts prints it)`);
  });

  it('BENCHMARKS.md quotes every score matrix, the selector weights and the wall times of those runs, as printed', () => {
    const details = detailSections(runs);
    assert.ok(details.split('\n\n').filter((block) => block.startsWith('|')).length >= runs.length * (methods.length + 1) + routed,
      'a matrix per method and order, the selector weights and the wall times per order');
    assert.ok(doc('BENCHMARKS.md').includes(details), 'BENCHMARKS.md has the section detailSections() makes (scripts/results/publish-real-stream.ts prints it)');
  });
}

describe('published real-data results: every method (db92f5d)', () => {
  publishedSetChecks(ALL_METHODS, ['conpet-dynamic', 'conpet-static', 'ewc', 'inclora', 'lwf', 'mtl', 'olora', 'oracle', 'replay', 'sapt', 'seqlora'], 2, ['README.md']);
});

describe('published real-data results: the merging methods', () => {
  // Order 1 only: order 2 has not run yet (docs/RESULTS.md).
  publishedSetChecks(MERGING, ['merge-avg', 'merge-ta', 'opcm', 'oracle', 'seqlora'], 0, ['README.md', 'docs/RESULTS.md']);

  it('docs/RESULTS.md shows the chance and majority-label scores of those runs\' tasks', () => {
    const table = baselinesTable(readRuns(publishedResultsFiles(MERGING), MERGING));
    assert.match(table, /\| mean \(AP\) \|/);
    assert.ok(doc('docs/RESULTS.md').includes(table), 'docs/RESULTS.md has the table baselinesTable() makes');
  });
});
