// The workbench's checks in Chromium: the data check under the tasks (token lengths against the max length, the
// test split's majority-label score, a suggested max length that the settings take), a file dropped twice refused
// with a word, an edited column mapping read again, a combination of settings that cannot run refused up front, and a
// short run copied into the form with its task files.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { conflictingStream } from '../test/helpers/streams.ts';
import { launchBrowser, openApp, screenshot, type AppPage } from './browser.ts';

describe('workbench checks (Chromium)', () => {
  let browser: Browser;
  let app: AppPage;
  const dir = mkdtempSync(join(tmpdir(), 'clora-workbench-'));
  const taskFiles = conflictingStream(dir, 3).slice(0, 2).map((rel) => ({ name: rel.split('/').pop()!, text: readFileSync(join(dir, rel), 'utf8') }));

  before(async () => {
    browser = await launchBrowser();
    app = await openApp(browser);
  });
  after(async () => {
    await browser?.close();
  });

  const drop = async (files: { name: string; text: string }[]) => {
    const dataTransfer = await app.page.evaluateHandle((fs) => {
      const dt = new DataTransfer();
      // A fixed modification time: the same file dropped twice is recognised as the same file.
      for (const f of fs) dt.items.add(new File([f.text], f.name, { type: 'application/jsonl', lastModified: 1_700_000_000_000 }));
      return dt;
    }, files);
    await app.page.getByTestId('task-drop-zone').dispatchEvent('drop', { dataTransfer });
  };

  it('checks the data: lengths against the max length, majority-label scores, and a suggested max length', { timeout: 180_000 }, async () => {
    const { page } = app;
    await page.locator('[data-testid="model-panel"][data-state="ready"]').waitFor({ timeout: 90_000 });
    await drop(taskFiles);
    await page.locator('[data-testid="task-row"][data-state="ok"]').nth(1).waitFor({ timeout: 60_000 });
    const rows = page.locator('[data-testid="data-check"] tr[data-majority]');
    await rows.nth(1).waitFor({ timeout: 60_000 });
    // Two labels a task: the most common one holds at least half of the test split.
    for (const m of await rows.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-majority'))))) assert.ok(m >= 50 && m <= 100, String(m));
    assert.equal(await page.locator('[data-testid="data-check"] [data-testid="length-histogram"]').count(), 2);
    // The suggestion fits every example; Use puts it in the settings.
    await page.getByTestId('max-length-suggestion').waitFor({ timeout: 60_000 });
    const suggested = Number(/Suggested max length: (\d+)/.exec(await page.getByTestId('max-length-suggestion').innerText())![1]);
    assert.ok(suggested >= 16 && suggested % 8 === 0, String(suggested));
    if (await page.getByTestId('use-max-length').count()) {
      await page.getByTestId('use-max-length').click();
      await page.waitForFunction((v) => (document.querySelector('[data-testid="setting-maxLength"]') as HTMLInputElement | null)?.value === String(v), suggested);
    }
    // At the suggested length nothing is cut.
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="data-check"] tr[data-truncated]')].every((e) => e.getAttribute('data-truncated') === '0'),
      undefined, { timeout: 60_000 });
    await screenshot(page, 'workbench-data-check');
  });

  it('refuses a file dropped twice with a word, and reads a task again through an edited column mapping', { timeout: 120_000 }, async () => {
    const { page } = app;
    await drop(taskFiles.slice(0, 1));
    await page.getByTestId('task-skipped').waitFor();
    assert.match(await page.getByTestId('task-skipped').innerText(), /already added, as the task "alpha"/);
    assert.equal(await page.getByTestId('task-row').count(), 2);
    const alpha = page.locator('[data-testid="task-row"][data-name="alpha"]');
    await alpha.getByTestId('task-columns-edit').click();
    await alpha.getByTestId('task-column-output').fill('no_such_column');
    await alpha.getByTestId('task-columns-apply').click();
    await alpha.locator('[data-testid="task-error"]').waitFor({ timeout: 30_000 });
    assert.match(await alpha.getByTestId('task-error').innerText(), /no_such_column/);
    await alpha.getByTestId('task-columns-edit').click();
    await alpha.getByTestId('task-column-output').fill('output');
    await alpha.getByTestId('task-columns-apply').click();
    await page.locator('[data-testid="task-row"][data-name="alpha"][data-state="ok"]').waitFor({ timeout: 30_000 });
  });

  it('refuses replay at batch size 1 before the run starts, saying what to change', { timeout: 60_000 }, async () => {
    const { page } = app;
    await page.getByTestId('setting-batchSize').fill('1');
    await page.getByTestId('run-problems').waitFor();
    assert.match(await page.getByTestId('run-problems').innerText(), /replay mixes stored samples .* set the batch size to 2 or more/);
    assert.ok(await page.getByTestId('run-start-button').isDisabled());
  });

  it('trains a short run, marks its baselines, and "Edit a copy" puts its settings into the form', { timeout: 10 * 60_000 }, async () => {
    const { page } = app;
    await page.getByTestId('model-bundled-select').selectOption('tiny-random');
    await page.getByTestId('model-load').click();
    await page.waitForFunction(() => /tiny-random/.test(document.querySelector('[data-testid="model-label"]')?.textContent ?? ''), undefined, { timeout: 90_000 });
    await page.getByTestId('setting-batchSize').fill('4');
    await page.getByTestId('setting-steps').fill('2');
    await page.getByTestId('setting-maxTest').fill('4');
    await page.locator('input[placeholder="named after its tasks and methods"]').fill('short run');
    await page.getByTestId('run-start-button').click();
    await page.locator('[data-testid="results-view"][data-live="false"]').waitFor({ timeout: 8 * 60_000 });
    // Each heatmap has the tasks' majority-label and chance rows; a random model learned nothing, which is marked.
    const majority = await page.getByTestId('baseline-majority-seqlora').locator('[data-baseline-score]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-baseline-score'))));
    assert.equal(majority.length, 2);
    for (const m of majority) assert.ok(m >= 50 && m <= 100, String(m));
    assert.ok(await page.locator('[data-testid="heatmap-seqlora"] [data-learned-nothing="true"]').count() > 0, 'tiny-random at 2 steps learns nothing');
    assert.match(await page.getByTestId('learned-nothing').innerText(), /seqlora learned nothing/);
    assert.equal(await page.locator('[data-testid="metrics-table"] .results-best').count(), 0, 'no vacuous value is highlighted as best');
    await page.getByTestId('tab-runs').click();
    await page.getByTestId('run-copy').first().click();
    await page.getByTestId('run-copy-note').waitFor();
    assert.match(await page.getByTestId('run-copy-note').innerText(), /Settings and task files \(alpha, beta\) copied/);
    // The run's task files come back with it, read again.
    await page.locator('[data-testid="task-row"][data-state="ok"]').nth(1).waitFor({ timeout: 60_000 });
    assert.deepEqual(await page.getByTestId('task-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))), ['alpha', 'beta']);
    assert.equal(await page.getByTestId('setting-steps').inputValue(), '2');
    assert.equal(await page.locator('input[placeholder="named after its tasks and methods"]').inputValue(), 'short run (copy)');
    await screenshot(page, 'workbench-copy');
  });
});
