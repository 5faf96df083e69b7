// The published real-data results are what their runs gave: docs/results/real-stream is `clora report`'s output for the
// committed results.json files, byte for byte, and README.md and BENCHMARKS.md quote tables made from those same files.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { detailSections, PUBLISHED_DIR, publishedFiles, publishedResultsFiles, readRuns, ROOT, summaryTable } from '../../scripts/results/publish-real-stream.ts';

const runs = readRuns(publishedResultsFiles());
const doc = (name: string) => readFileSync(join(ROOT, name), 'utf8');

describe('published real-data results', () => {
  it('are finished runs of every method over the same six tasks, in two orders', () => {
    const [first, second] = runs.map((r) => r.results);
    assert.equal(first.tasks.length, 6);
    assert.deepEqual(second.tasks.map((t) => t.name), first.tasks.map((t) => t.name).reverse());
    for (const r of [first, second]) {
      assert.deepEqual(Object.keys(r.methods).sort(), ['conpet-dynamic', 'conpet-static', 'ewc', 'inclora', 'lwf', 'mtl', 'olora', 'oracle', 'replay', 'sapt', 'seqlora']);
      assert.ok(Array.isArray(r.singleTask), 'the oracle finished, so FWT has its single-task scores');
      for (const [name, m] of Object.entries(r.methods)) {
        assert.ok(m.final.every((v) => v !== null), `${name}: every task has a final score`);
        if (name !== 'mtl') assert.ok(m.metrics, `${name}: metrics`);
      }
    }
  });

  it('has the report clora report writes for them, byte for byte', () => {
    // The results.json files are the inputs; every other file is made from them.
    const made = publishedFiles(runs).filter((f) => !f.name.endsWith('/results.json'));
    assert.ok(made.length >= 1 + 2 * (2 + 11), `${made.length} report files`);
    for (const f of made) {
      assert.equal(readFileSync(join(ROOT, PUBLISHED_DIR, f.name), 'utf8'), f.content, `${PUBLISHED_DIR}/${f.name}`);
    }
  });

  it('README.md quotes the metrics of those runs', () => {
    assert.ok(doc('README.md').includes(summaryTable(runs)), 'README.md has the table summaryTable() makes (scripts/results/publish-real-stream.ts prints it)');
  });

  it('BENCHMARKS.md quotes every score matrix, the selector weights and the wall times of those runs, as printed', () => {
    const details = detailSections(runs);
    assert.ok(details.split('\n\n').filter((block) => block.startsWith('|')).length >= 2 * 11 + 2 + 2, 'a matrix per method and order, SAPT\'s weights and the wall times per order');
    assert.ok(doc('BENCHMARKS.md').includes(details), 'BENCHMARKS.md has the section detailSections() makes (scripts/results/publish-real-stream.ts prints it)');
  });
});
