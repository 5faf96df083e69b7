// A run reproduced, in Chromium with WebGPU on SwiftShader, as a new user would go: drop three tasks, train two methods
// on the bundled tiny model, reload mid-run (the form shows the run), edit a copy that brings back the task files and
// change one setting, train it, compare the two runs overlaid, export the first run as an experiment zip, and rerun it
// with `clora run` (Dawn's SwiftShader in Node) to the app's matrices; run it again in one click to the same results;
// then import that zip back into the form.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import type { RunResults } from '../src/cl/runner.ts';
import { conflictingStream } from '../test/helpers/streams.ts';
import { launchBrowser, OUTPUT_DIR, openApp, screenshot, type AppPage } from './browser.ts';
import { dropTaskFiles, loadBundledModel } from './app-steps.ts';

const ROOT = resolve(import.meta.dirname, '..');
const TITLE = 'repro run';

/** The Runs view's row of the run titled exactly `title`. */
const runRow = (page: Page, title: string) =>
  page.locator('[data-testid="run-row"]').filter({ has: page.locator('.runs-title', { hasText: new RegExp(`^${title.replace(/[()]/g, '\\$&')}$`) }) });

describe('a run reproduced: stored with its files, copied, exported and rerun by clora run (WebGPU on SwiftShader)', () => {
  let browser: Browser;
  let app: AppPage;
  const dir = mkdtempSync(join(tmpdir(), 'clora-repro-e2e-'));
  const taskFiles = conflictingStream(dir, 5, undefined, 24).map((rel) => ({ name: rel.split('/').pop()!, text: readFileSync(join(dir, rel), 'utf8') }));
  let appResults: RunResults;

  before(async () => {
    browser = await launchBrowser();
    app = await openApp(browser);
  });
  after(async () => {
    await browser?.close();
  });

  const waitDone = async (page: Page) => {
    await page.locator('section[data-testid="run-progress"]').waitFor({ state: 'detached', timeout: 15 * 60_000 });
    await page.locator('[data-testid="results-view"][data-live="false"]').waitFor({ timeout: 60_000 });
  };

  it('drops three tasks, trains two methods, and after a reload mid-run the form shows the run', { timeout: 20 * 60_000 }, async () => {
    const { page } = app;
    await loadBundledModel(page, 'tiny-random');
    await dropTaskFiles(page, taskFiles);
    await page.locator('[data-testid="task-row"][data-state="ok"]').nth(2).waitFor({ timeout: 60_000 });
    await page.getByTestId('method-toggle-replay').uncheck();
    await page.getByTestId('method-toggle-inclora').check();
    // The settings of test/worker/repro.test.ts, where the tiny random model gets some answers right: no vacuous match.
    for (const [id, v] of [['setting-steps', '8'], ['setting-lr', '0.05'], ['setting-batchSize', '4'], ['setting-maxLength', '48'], ['setting-maxNewTokens', '3'],
      ['setting-testFraction', '0.25'], ['setting-maxTest', '6'], ['setting-seed', '1'], ['setting-rank', '4'], ['setting-alpha', '8'], ['setting-dropout', '0.05']]) {
      await page.getByTestId(id).fill(v);
    }
    await page.locator('input[placeholder="named after its tasks and methods"]').fill(TITLE);
    assert.equal(await page.getByTestId('run-problems').count(), 0);
    await page.getByTestId('run-start-button').click();
    await page.getByRole('progressbar', { name: /task 2\/3/ }).waitFor({ timeout: 10 * 60_000 });
    await page.reload();
    await page.getByTestId('run-notice').waitFor({ timeout: 120_000 });
    // The form shows the run in progress, not the defaults.
    await page.waitForFunction((t) => (document.querySelector('input[placeholder="named after its tasks and methods"]') as HTMLInputElement | null)?.value === t, TITLE, { timeout: 60_000 });
    assert.equal(await page.getByTestId('setting-steps').inputValue(), '8');
    assert.equal(await page.getByTestId('setting-seed').inputValue(), '1');
    assert.match(await page.getByTestId('run-tasks').innerText(), /learns alpha, beta, gamma on tiny-random/);
    await screenshot(page, 'repro-reloaded');
    await waitDone(page);
  });

  it('edits a copy that brings back the task files and the model, changes the seed, and trains it', { timeout: 20 * 60_000 }, async () => {
    const { page } = app;
    await page.getByTestId('tab-runs').click();
    const row = runRow(page, TITLE);
    await row.waitFor({ timeout: 30_000 });
    assert.equal(await row.getAttribute('data-status'), 'done');
    assert.ok(await row.getByTestId('run-again').isEnabled(), 'run again is offered: the task files are stored');
    await row.getByTestId('run-copy').click();
    await page.getByTestId('run-copy-note').waitFor();
    assert.match(await page.getByTestId('run-copy-note').innerText(), /Settings and task files \(alpha, beta, gamma\) copied/);
    await page.locator('[data-testid="task-row"][data-state="ok"]').nth(2).waitFor({ timeout: 60_000 });
    assert.deepEqual(await page.getByTestId('task-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))), ['alpha', 'beta', 'gamma']);
    // The run's model comes back too (the reload had loaded the default one).
    await page.waitForFunction(() => /tiny-random/.test(document.querySelector('[data-testid="model-label"]')?.textContent ?? ''), undefined, { timeout: 90_000 });
    await page.locator('[data-testid="model-panel"][data-state="ready"]').waitFor({ timeout: 90_000 });
    assert.equal(await page.getByTestId('setting-steps').inputValue(), '8');
    await page.getByTestId('setting-seed').fill('2');
    await page.locator('input[placeholder="named after its tasks and methods"]').fill(`${TITLE} seed 2`);
    assert.equal(await page.getByTestId('run-problems').count(), 0);
    await page.getByTestId('run-start-button').click();
    await page.getByTestId('run-progress').waitFor({ timeout: 60_000 });
    await waitDone(page);
    await page.getByTestId('tab-runs').click();
    await runRow(page, `${TITLE} seed 2`).waitFor({ timeout: 30_000 });
    assert.equal(await runRow(page, `${TITLE} seed 2`).getAttribute('data-status'), 'done');
  });

  it('compares the two runs overlaid: a curve per run and method, matrices side by side, the seed named as what differs', { timeout: 5 * 60_000 }, async () => {
    const { page } = app;
    await page.getByTestId('tab-compare').click();
    await page.getByRole('checkbox', { name: `Compare ${TITLE}`, exact: true }).check({ timeout: 30_000 });
    await page.getByRole('checkbox', { name: `Compare ${TITLE} seed 2`, exact: true }).check();
    const view = page.locator('[data-testid="compare-view"][data-runs="2"]');
    await view.waitFor({ timeout: 60_000 });
    assert.equal(await view.getAttribute('data-matched-by'), 'name');
    for (let t = 0; t < 3; t++) assert.equal(await page.getByTestId(`compare-chart-${t}`).getAttribute('data-series'), '4', `task ${t + 1}: 2 runs x 2 methods`);
    assert.equal(await page.getByTestId('compare-matrix').count(), 4);
    assert.match(await page.getByTestId('compare-notice-settings').innerText(), new RegExp(`seed: ${TITLE}: 1; ${TITLE} seed 2: 2`));
    await screenshot(page, 'repro-compare');
    await page.getByTestId('tab-runs').click();
  });

  it('exports the first run, and clora run of the export gives the app\'s matrices', { timeout: 20 * 60_000 }, async () => {
    const { page } = app;
    const row = runRow(page, TITLE);
    await row.getByTestId('run-open').click();
    const [resultsDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('runs-tab').getByTestId('export-json').click()]);
    appResults = JSON.parse(readFileSync(await resultsDownload.path(), 'utf8')) as RunResults;
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByTestId('run-export').click()]);
    assert.equal(download.suggestedFilename(), 'repro-run.zip', 'named after the run');
    const zipPath = join(dir, 'repro-run.zip');
    await download.saveAs(zipPath);
    const files = unzipSync(new Uint8Array(readFileSync(zipPath)));
    assert.deepEqual(Object.keys(files).sort(), ['experiment.json', 'tasks/alpha.jsonl', 'tasks/beta.jsonl', 'tasks/gamma.jsonl']);
    const unpacked = join(dir, 'unpacked');
    for (const [path, data] of Object.entries(files)) {
      mkdirSync(dirname(join(unpacked, path)), { recursive: true });
      writeFileSync(join(unpacked, path), data);
    }
    const exp = JSON.parse(readFileSync(join(unpacked, 'experiment.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(exp.model, 'tiny-random');
    assert.equal(exp.seed, 1);
    const out = join(dir, 'cli-out');
    const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', 'experiment.json', '--out', out, '--quiet'],
      { cwd: unpacked, encoding: 'utf8', env: { ...process.env, CLORA_ADAPTER: 'swiftshader' } });
    assert.equal(res.status, 0, res.stderr);
    const cli = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    assert.deepEqual(cli.tasks.map((t) => t.name), ['alpha', 'beta', 'gamma']);
    // Chromium's SwiftShader against Dawn's in Node: the scores are counts of exact matches, the losses floats.
    let worstScore = 0;
    let worstLoss = 0;
    for (const [m, a] of Object.entries(appResults.methods)) {
      const b = cli.methods[m];
      assert.ok(b, `clora run trained ${m}`);
      a.matrix!.forEach((r, i) => r.forEach((v, j) => { if (v !== null) worstScore = Math.max(worstScore, Math.abs(v - (b.matrix![i][j] as number))); }));
      assert.equal(b.losses.length, a.losses.length);
      a.losses.forEach((l, i) => { worstLoss = Math.max(worstLoss, Math.abs(l.loss - b.losses[i].loss)); });
    }
    const nonZero = Object.values(appResults.methods).flatMap((m) => m.matrix!.flat()).filter((v) => v !== null && v > 0).length;
    writeFileSync(join(OUTPUT_DIR, 'repro-differences.json'), JSON.stringify({ worstScore, worstLoss, nonZero, matrices: Object.fromEntries(Object.entries(appResults.methods).map(([m, v]) => [m, v.matrix])) }, null, 2));
    console.log(`app (Chromium SwiftShader) against clora run (Dawn SwiftShader): largest score difference ${worstScore}, largest loss difference ${worstLoss}, ${nonZero} cells above 0`);
    for (const m of Object.keys(appResults.methods)) assert.deepEqual(cli.methods[m].samples, appResults.methods[m].samples, `${m}: the same predictions`);
    assert.deepEqual(Object.fromEntries(Object.entries(cli.methods).map(([m, v]) => [m, v.matrix])),
      Object.fromEntries(Object.entries(appResults.methods).map(([m, v]) => [m, v.matrix])), 'the same matrices');
    // Measured on this machine (Debian chromium, webgpu 0.6): 0 for both. The bound leaves room for another SwiftShader build.
    assert.ok(worstLoss <= 1e-4, `losses within 1e-4 (largest difference ${worstLoss})`);
    assert.ok(nonZero > 0, 'some answers are right, so equal matrices say something');
  });

  it('runs the first run again in one click, from its stored files, to the same results', { timeout: 20 * 60_000 }, async () => {
    const { page } = app;
    await page.getByTestId('tab-runs').click();
    await runRow(page, TITLE).getByTestId('run-again').click();
    // The Experiment view follows the new run (the Runs table's progress cells share the test id).
    await page.locator('section[data-testid="run-progress"]').waitFor({ timeout: 60_000 });
    await waitDone(page);
    await page.getByTestId('tab-runs').click();
    const again = runRow(page, `${TITLE} (again)`);
    await again.waitFor({ timeout: 30_000 });
    assert.equal(await again.getAttribute('data-status'), 'done');
    await again.getByTestId('run-open').click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('runs-tab').getByTestId('export-json').click()]);
    const rerun = JSON.parse(readFileSync(await download.path(), 'utf8')) as RunResults;
    for (const [m, a] of Object.entries(appResults.methods)) {
      assert.deepEqual(rerun.methods[m].matrix, a.matrix, `${m}: the same matrix`);
      assert.deepEqual(rerun.methods[m].losses.map((l) => l.loss), a.losses.map((l) => l.loss), `${m}: the same losses`);
    }
  });

  it('imports the exported zip into the form: settings, tasks and model', { timeout: 5 * 60_000 }, async () => {
    const { page } = app;
    await page.getByTestId('tab-experiment').click();
    await page.getByTestId('experiment-import-zip').setInputFiles(join(dir, 'repro-run.zip'));
    await page.getByTestId('experiment-import-done').waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('experiment-import-done').innerText(), /experiment\.json: 3 tasks, 2 methods/);
    await page.locator('[data-testid="task-row"][data-state="ok"]').nth(2).waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('setting-seed').inputValue(), '1');
    assert.match(await page.getByTestId('run-import-note').innerText(), /its model tiny-random is bundled and loaded/);
    await screenshot(page, 'repro-imported');
  });
});
