// The Compare view in Chromium: two runs stored in the app's IndexedDB (the published real-data runs in two task
// orders, cut to three methods) and a CLI results.json with its tasks renamed, compared: curves overlaid with a legend
// that hides lines, matrices side by side, the metrics' mean, SD and n against values computed here from the
// matrices, the notices on renamed tasks and differing settings, and the exports named after the runs; then two
// short runs trained in the app, the second with another learning rate, compared in the same way.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RunResults } from '../src/cl/runner.ts';
import { conflictingStream } from '../test/helpers/streams.ts';
import { launchBrowser, openApp, screenshot, type AppPage } from './browser.ts';
import { dropTaskFiles, loadBundledModel } from './app-steps.ts';

const ROOT = resolve(import.meta.dirname, '..');
const METHODS = ['seqlora', 'replay', 'mtl'];

/** A published run's results with only METHODS kept. */
function published(order: number): RunResults {
  const r = JSON.parse(readFileSync(join(ROOT, `docs/results/real-stream/order-${order}/results.json`), 'utf8')) as RunResults;
  r.methods = Object.fromEntries(METHODS.map((m) => [m, r.methods[m]]));
  return r;
}

// Computed here from the matrices, not from the metrics the files record.
const apOf = (r: RunResults, m: string): number => {
  const x = r.methods[m];
  const final = x.matrix ? x.matrix[x.matrix.length - 1] : x.final;
  return (final as number[]).reduce((a, b) => a + b, 0) / final.length;
};
const bwtOf = (r: RunResults, m: string): number => {
  const a = r.methods[m].matrix as number[][];
  const T = a.length;
  let s = 0;
  for (let t = 0; t < T - 1; t++) s += a[T - 1][t] - a[t][t];
  return s / (T - 1);
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
/** Methods of a run with at least one score on its task `t`, as the overlay draws them. */
const linesOn = (r: RunResults, t: number) => Object.values(r.methods).filter((m) => (m.matrix ? m.matrix.some((row) => typeof row[t] === 'number') : typeof m.final[t] === 'number')).length;

/** Writes runs into the app's database (the layout the worker's storage uses: runs/<id>/run.json and results.json). */
async function seedRuns(page: Page, runs: { id: string; title: string; results: RunResults; created: number }[]) {
  const records = runs.flatMap((r) => {
    const record = {
      id: r.id, title: r.title, created: r.created, updated: r.created, status: 'done', error: null,
      model: { kind: 'bundled', url: 'models/tiny-random', label: 'demo model' }, modelLabel: 'demo model', tasks: r.results.tasks.map((t) => t.name),
      settings: { ...r.results.settings, methods: Object.entries(r.results.methods).map(([name, m]) => ({ name, method: m.method })) }, done: 1,
    };
    return [{ path: `runs/${r.id}/run.json`, text: JSON.stringify(record) }, { path: `runs/${r.id}/results.json`, text: JSON.stringify(r.results) }];
  });
  await page.evaluate((files) => new Promise<void>((res, rej) => {
    // At whatever version the app has it (it creates the database as it starts); created here only if it has not yet.
    const open = indexedDB.open('clora');
    open.onupgradeneeded = () => {
      if (!open.result.objectStoreNames.contains('files')) open.result.createObjectStore('files', { keyPath: 'path' }).createIndex('size', 'size');
    };
    open.onerror = () => rej(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction('files', 'readwrite');
      for (const f of files) {
        const data = new TextEncoder().encode(f.text);
        tx.objectStore('files').put({ path: f.path, data, size: data.byteLength, modified: Date.now() });
      }
      tx.oncomplete = () => { db.close(); res(); };
      tx.onerror = () => rej(tx.error);
    };
  }), records);
}

describe('comparing runs (Chromium)', () => {
  let browser: Browser;
  let app: AppPage;
  const dir = mkdtempSync(join(tmpdir(), 'clora-compare-'));
  const order1 = published(1);
  const order2 = published(2);
  // A CLI run of the second order with its tasks renamed and another seed: matched by position, with notices.
  const renamed = published(2);
  // Its tasks also record their majority-label and chance scores (the published files predate them).
  const majority = [50, 40, 30, 20, 10, 60];
  renamed.tasks = renamed.tasks.map((t, i) => ({ ...t, name: `t${i + 1}`, baselines: { majorityLabel: 'x', majority: majority[i], chance: 25 } }));
  renamed.settings = { ...renamed.settings, seed: 1 };
  const renamedFile = join(dir, 'renamed-seed-1-results.json');
  writeFileSync(renamedFile, JSON.stringify(renamed));

  before(async () => {
    browser = await launchBrowser();
    app = await openApp(browser);
  });
  after(async () => {
    await browser?.close();
  });

  it('overlays two stored runs, tasks matched by name: a line per run and method, matrices side by side, mean and SD', { timeout: 180_000 }, async () => {
    const { page } = app;
    await page.getByTestId('tab-compare').waitFor({ timeout: 90_000 });
    await seedRuns(page, [
      { id: 'run-order-1', title: 'order 1', results: order1, created: 1_700_000_000_000 },
      { id: 'run-order-2', title: 'order 2', results: order2, created: 1_700_000_100_000 },
    ]);
    await page.getByTestId('tab-compare').click();
    await page.getByRole('checkbox', { name: 'Compare order 1' }).check({ timeout: 30_000 });
    await page.getByRole('checkbox', { name: 'Compare order 2' }).check();
    const view = page.getByTestId('compare-view');
    await view.waitFor({ timeout: 30_000 });
    assert.equal(await view.getAttribute('data-runs'), '2');
    assert.equal(await view.getAttribute('data-matched-by'), 'name');
    assert.equal(await page.getByTestId('compare-notice-tasks').count(), 0, 'the same tasks in another order need no renaming notice');
    assert.match(await page.getByTestId('compare-notice-settings').innerText(), /task order: order 1: amazon-sentiment → .*; order 2: imdb-sentiment → /);

    // One chart per task; on task t (order 1's order), each run's methods that score it (order 2 has it at another place).
    const T = order1.tasks.length;
    assert.equal(await page.locator('[data-testid^="compare-chart-"][data-series]').count(), T);
    for (let t = 0; t < T; t++) {
      const t2 = order2.tasks.findIndex((x) => x.name === order1.tasks[t].name);
      const expected = linesOn(order1, t) + linesOn(order2, t2);
      assert.equal(await page.getByTestId(`compare-chart-${t}`).getAttribute('data-series'), String(expected), `task ${t + 1}`);
    }
    assert.equal(Number(await page.getByTestId('compare-chart-0').getAttribute('data-series')), 6);
    // The legend hides a line from every chart, and shows it again.
    await page.getByTestId('legend-order 1 · seqlora').click();
    assert.equal(await page.getByTestId('compare-chart-0').getAttribute('data-series'), '5');
    await page.getByTestId('legend-order 1 · seqlora').click();
    assert.equal(await page.getByTestId('compare-chart-0').getAttribute('data-series'), '6');

    // Matrices side by side: a row per method, a matrix per run, with each run's own scores.
    assert.equal(await page.getByTestId('compare-matrix-row').count(), METHODS.length);
    assert.equal(await page.getByTestId('compare-matrix').count(), METHODS.length * 2);
    const cells = await page.locator('[data-testid="compare-matrix"][data-run="order 2"][data-method="seqlora"] [data-testid="heatmap-seqlora"] td[data-score]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-score')));
    assert.deepEqual(cells, (order2.methods.seqlora.matrix as (number | null)[][]).flat().map((v) => (v === null ? 'null' : String(v))));

    // Mean, SD and n against the matrices.
    for (const m of ['seqlora', 'replay']) {
      const aps = [apOf(order1, m), apOf(order2, m)];
      const bwts = [bwtOf(order1, m), bwtOf(order2, m)];
      const row = page.locator(`[data-testid="compare-metrics"] tr[data-method="${m}"]`);
      const ap = row.locator('td[data-metric="ap"]');
      assert.ok(Math.abs(Number(await ap.getAttribute('data-mean')) - mean(aps)) < 1e-9, `${m} AP mean`);
      assert.ok(Math.abs(Number(await ap.getAttribute('data-sd')) - sd(aps)) < 1e-9, `${m} AP SD`);
      assert.equal(await ap.getAttribute('data-n'), '2');
      const bwt = row.locator('td[data-metric="bwt"]');
      assert.ok(Math.abs(Number(await bwt.getAttribute('data-mean')) - mean(bwts)) < 1e-9, `${m} BWT mean`);
      assert.ok(Math.abs(Number(await bwt.getAttribute('data-sd')) - sd(bwts)) < 1e-9, `${m} BWT SD`);
      assert.match(await ap.innerText(), new RegExp(`^${mean(aps).toFixed(1)} ± ${sd(aps).toFixed(1)}\\s*n=2$`));
    }
    // The joint method has AP only.
    assert.equal(await page.locator('[data-testid="compare-metrics"] tr[data-method="mtl"] td[data-metric="bwt"]').getAttribute('data-n'), '0');
    await screenshot(page, 'compare-two-orders');
  });

  it('adds a CLI results.json with renamed tasks: matched by position with the pairs named, differing settings listed', { timeout: 120_000 }, async () => {
    const { page } = app;
    await page.getByTestId('compare-files-input').setInputFiles(renamedFile);
    const view = page.getByTestId('compare-view');
    await page.locator('[data-testid="compare-view"][data-runs="3"]').waitFor({ timeout: 30_000 });
    assert.equal(await view.getAttribute('data-matched-by'), 'position');
    const notice = await page.getByTestId('compare-notice-tasks').innerText();
    assert.match(notice, /task 1 is "amazon-sentiment" in "order 1", "imdb-sentiment" in "order 2", "t1" in "renamed-seed-1"/);
    assert.match(notice, /task 6 is "imdb-sentiment" in "order 1", "amazon-sentiment" in "order 2", "t6" in "renamed-seed-1"/);
    assert.match(await page.getByTestId('compare-notice-settings').innerText(), /seed: order 1: 0; order 2: 0; renamed-seed-1: 1/);
    // Position 1 now holds order 1's first task, order 2's first and the file's first: a line per run and method.
    assert.equal(await page.getByTestId('compare-chart-0').getAttribute('data-series'), String(linesOn(order1, 0) + 2 * linesOn(order2, 0)));
    assert.equal(await page.getByTestId('compare-matrix').count(), METHODS.length * 3);
    // The file's baselines: on its charts as dotted lines, and under its matrices as rows, as the results view shows them.
    for (let t = 0; t < 6; t++) assert.equal(await page.getByTestId(`compare-chart-${t}`).getAttribute('data-baselines'), `majority label=${majority[t]};chance=25`);
    const baselineRow = await page.locator('[data-testid="compare-matrix"][data-run="renamed-seed-1"] [data-testid="baseline-majority-seqlora"] [data-baseline-score]')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-baseline-score'))));
    assert.deepEqual(baselineRow, majority);
    assert.equal(await page.locator('[data-testid="compare-matrix"][data-run="order 1"] [data-testid="baseline-majority-seqlora"]').count(), 0);
    const aps = [apOf(order1, 'seqlora'), apOf(order2, 'seqlora'), apOf(renamed, 'seqlora')];
    const ap = page.locator('[data-testid="compare-metrics"] tr[data-method="seqlora"] td[data-metric="ap"]');
    assert.equal(await ap.getAttribute('data-n'), '3');
    assert.ok(Math.abs(Number(await ap.getAttribute('data-mean')) - mean(aps)) < 1e-9);
    assert.ok(Math.abs(Number(await ap.getAttribute('data-sd')) - sd(aps)) < 1e-9);

    // Exports are named after the runs.
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('compare-export-csv').click()]);
    assert.equal(csvDownload.suggestedFilename(), 'compare-order-1-vs-order-2-vs-renamed-seed-1-metrics.csv');
    const csvPath = join(dir, 'metrics.csv');
    await csvDownload.saveAs(csvPath);
    const rows = readFileSync(csvPath, 'utf8').trimEnd().split('\r\n').map((l) => l.split(','));
    assert.deepEqual(rows[0], ['method', 'algorithm', 'joint', 'metric', 'mean', 'sd', 'n', 'order 1', 'order 2', 'renamed-seed-1']);
    const seqAp = rows.find((r) => r[0] === 'seqlora' && r[3] === 'ap')!;
    assert.ok(Math.abs(Number(seqAp[4]) - mean(aps)) < 1e-9);
    assert.deepEqual(seqAp.slice(7).map(Number).map((v, i) => Math.abs(v - aps[i]) < 1e-9), [true, true, true]);
    const [svgDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('compare-export-svg').click()]);
    assert.equal(svgDownload.suggestedFilename(), 'compare-order-1-vs-order-2-vs-renamed-seed-1-forgetting-curves.svg');
    const svgPath = join(dir, 'curves.svg');
    await svgDownload.saveAs(svgPath);
    assert.equal((readFileSync(svgPath, 'utf8').match(/<g class="panel"/g) ?? []).length, order1.tasks.length);
    const [pngDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('compare-chart-0-png').click()]);
    assert.match(pngDownload.suggestedFilename(), /^compare-order-1-vs-order-2-vs-renamed-seed-1-task-1-.*\.png$/);
    await screenshot(page, 'compare-renamed');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'compare-renamed-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('compares two runs trained here, the second with another learning rate', { timeout: 10 * 60_000 }, async () => {
    // A fresh browser profile: only these two runs are stored.
    const trained = await openApp(browser);
    const { page } = trained;
    const taskFiles = conflictingStream(dir, 3).slice(0, 2).map((rel) => ({ name: rel.split('/').pop()!, text: readFileSync(join(dir, rel), 'utf8') }));
    await loadBundledModel(page, 'tiny-random');
    await dropTaskFiles(page, taskFiles);
    await page.locator('[data-testid="task-row"][data-state="ok"]').nth(1).waitFor({ timeout: 60_000 });
    await page.getByTestId('setting-batchSize').fill('4');
    await page.getByTestId('setting-steps').fill('2');
    await page.getByTestId('setting-maxTest').fill('4');
    for (const [title, lr] of [['lr 0.01', '0.01'], ['lr 0.02', '0.02']]) {
      await page.getByTestId('setting-lr').fill(lr);
      await page.locator('input[placeholder="named after its tasks and methods"]').fill(title);
      await page.getByTestId('run-start-button').click();
      await page.getByTestId('run-progress').waitFor({ timeout: 60_000 });
      await page.getByTestId('run-progress').waitFor({ state: 'detached', timeout: 8 * 60_000 });
    }
    // One run picked from the Runs view (its Compare button opens the Compare view with it ticked), the other there.
    await page.getByTestId('tab-runs').click();
    // The results view's files are named after the run too.
    const runsTab = page.getByTestId('runs-tab');
    await runsTab.getByTestId('run-row').filter({ hasText: 'lr 0.01' }).getByTestId('run-open').click({ timeout: 30_000 });
    const [heatmapSvg] = await Promise.all([page.waitForEvent('download'), runsTab.locator('[data-testid^="export-svg-"]').first().click()]);
    assert.match(heatmapSvg.suggestedFilename(), /^lr-0\.01-heatmap-[\w-]+\.svg$/);
    const [curvePng] = await Promise.all([page.waitForEvent('download'), runsTab.getByTestId('forgetting-chart-0-png').click()]);
    assert.match(curvePng.suggestedFilename(), /^lr-0\.01-forgetting-task-1-alpha\.png$/);
    await page.getByTestId('run-row').filter({ hasText: 'lr 0.01' }).getByTestId('run-compare').click({ timeout: 30_000 });
    await page.getByTestId('compare-tab').waitFor({ state: 'visible' });
    assert.equal(await page.getByRole('checkbox', { name: 'Compare lr 0.01' }).isChecked(), true);
    await page.getByRole('checkbox', { name: 'Compare lr 0.02' }).check();
    const view = page.locator('[data-testid="compare-view"][data-runs="2"]');
    await view.waitFor({ timeout: 30_000 });
    assert.equal(await view.getAttribute('data-matched-by'), 'name');
    assert.match(await page.getByTestId('compare-notice-settings').innerText(), /lr: lr 0\.01: 0\.01; lr 0\.02: 0\.02/);
    // Each run trained the default methods on both tasks: a line per run and method on each task's chart, a matrix per run and method.
    const methods = await page.locator('[data-testid="compare-metrics"] tbody tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-method')!));
    assert.ok(methods.length >= 1);
    for (const t of [0, 1]) assert.equal(await page.getByTestId(`compare-chart-${t}`).getAttribute('data-series'), String(2 * methods.length));
    assert.equal(await page.getByTestId('compare-matrix').count(), 2 * methods.length);
    for (const method of methods) {
      // AP from each run's matrix as shown (its last row), against the table's mean, SD and n.
      const aps: number[] = [];
      for (const run of ['lr 0.01', 'lr 0.02']) {
        const last = await page.locator(`[data-testid="compare-matrix"][data-run="${run}"] [data-testid="heatmap-${method}"] tbody tr[data-stage="1"] td[data-score]`)
          .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-score'))));
        assert.equal(last.length, 2);
        aps.push(mean(last));
      }
      const ap = page.locator(`[data-testid="compare-metrics"] tr[data-method="${method}"] td[data-metric="ap"]`);
      assert.equal(await ap.getAttribute('data-n'), '2');
      assert.ok(Math.abs(Number(await ap.getAttribute('data-mean')) - mean(aps)) < 1e-9, `${method} AP mean`);
      assert.ok(Math.abs(Number(await ap.getAttribute('data-sd')) - sd(aps)) < 1e-9, `${method} AP SD`);
    }
    await screenshot(page, 'compare-trained');
    assert.deepEqual(trained.pageErrors, []);
  });

  it('raised no uncaught errors in the page or the worker', () => {
    assert.deepEqual(app.pageErrors, []);
  });
});
