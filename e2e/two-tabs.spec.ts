// One run, one writer: a run trained in one tab is shown as held in a second tab of the same browser, which offers no
// Resume or Delete for it and is refused, with the reason, when it asks the worker to delete it; and when the run's
// files are deleted behind the lock's back (straight from IndexedDB, as a tab without Web Locks could), the training
// tab stops with a clear message and recreates none of them.
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { conflictingStream } from '../test/helpers/streams.ts';
import { baseUrl, launchBrowser, openApp, screenshot, type AppPage } from './browser.ts';
import { dropTaskFiles, loadBundledModel } from './app-steps.ts';

/** Keys of the app database under the folder `prefix`, read in the page. */
function storedKeys(page: Page, prefix: string): Promise<string[]> {
  return page.evaluate(async (folder) => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('clora');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    try {
      return await new Promise<string[]>((res, rej) => {
        const r = db.transaction('files').objectStore('files').getAllKeys(IDBKeyRange.bound(`${folder}/`, `${folder}0`, false, true));
        r.onsuccess = () => res(r.result.map(String));
        r.onerror = () => rej(r.error);
      });
    } finally {
      db.close();
    }
  }, prefix);
}

/** Deletes every key under the folder `prefix` straight from IndexedDB, bypassing the app and its locks. */
function deleteBehindTheLock(page: Page, prefix: string): Promise<void> {
  return page.evaluate(async (folder) => {
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('clora');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    try {
      await new Promise<void>((res, rej) => {
        const tx = db.transaction('files', 'readwrite');
        tx.objectStore('files').delete(IDBKeyRange.bound(`${folder}/`, `${folder}0`, false, true));
        tx.oncomplete = () => res();
        tx.onerror = () => rej(tx.error);
      });
    } finally {
      db.close();
    }
  }, prefix);
}

describe('a run trained in one tab, seen from another (WebGPU on SwiftShader)', () => {
  let browser: Browser;
  let trainer: AppPage;
  let other: Page;
  const otherErrors: string[] = [];
  let runId = '';
  const dir = mkdtempSync(join(tmpdir(), 'clora-two-tabs-'));
  const taskFiles = conflictingStream(dir, 2, undefined, 16).slice(0, 2).map((rel) => ({ name: rel.split('/').pop()!, text: readFileSync(join(dir, rel), 'utf8') }));

  before(async () => {
    browser = await launchBrowser();
    trainer = await openApp(browser);
  });

  after(async () => {
    await browser?.close();
  });

  it('trains a run in the first tab and shows it as held in a second tab, without Resume or Delete', { timeout: 10 * 60_000 }, async () => {
    const { page } = trainer;
    await loadBundledModel(page, 'tiny-random');
    await dropTaskFiles(page, taskFiles);
    await page.locator('[data-testid="task-row"][data-state="ok"]').nth(1).waitFor({ timeout: 60_000 });
    await page.getByTestId('method-toggle-replay').uncheck();
    await page.getByTestId('method-toggle-seqlora').check();
    for (const [id, v] of [['setting-steps', '40'], ['setting-batchSize', '2'], ['setting-maxLength', '32'], ['setting-maxNewTokens', '2'], ['setting-seed', '3']]) {
      await page.getByTestId(id).fill(v);
    }
    await page.getByTestId('run-start-button').click();
    await page.getByRole('progressbar', { name: /Overall/ }).waitFor({ timeout: 5 * 60_000 });
    // Paused, the run still holds its lock: the second tab must not take it for a stopped run it may resume.
    await page.getByTestId('run-pause').click();
    await page.locator('[data-testid="run-progress"][data-state="paused"]').waitFor();

    other = await page.context().newPage();
    other.on('pageerror', (e) => otherErrors.push(e.stack ?? e.message));
    await other.goto(baseUrl());
    await other.getByTestId('tab-runs').click();
    const row = other.locator('[data-testid="run-row"][data-held="elsewhere"]');
    await row.waitFor({ timeout: 60_000 });
    runId = (await row.getAttribute('data-id'))!;
    assert.match(runId, /^run-/);
    await other.locator(`[data-testid="run-row"][data-id="${runId}"][data-status="paused"]`).waitFor({ timeout: 30_000 });
    assert.equal(await row.getByTestId('run-held').innerText(), 'training in another tab');
    assert.equal(await row.getByTestId('run-resume').count(), 0, 'no Resume for a run another tab holds, even paused');
    assert.equal(await row.getByTestId('run-delete').isDisabled(), true);
    // It names the tab: the training tab's title starts with "Training".
    assert.match((await row.getByTestId('run-delete').getAttribute('title')) ?? '', /being trained in another tab or window of this browser \(the one whose title starts with “Training”\); pause or cancel it there first/);
    assert.match(await page.title(), /^Training \d+% \(paused\) · 2 tasks × seqlora · clora/);
    // The second tab did not resume it as an orphan of a closed page.
    assert.equal(await other.getByTestId('run-notice').count(), 0);
    await screenshot(other, 'two-tabs-held');
  });

  it('refuses the second tab\'s request to delete it, with the reason, and keeps the run', { timeout: 120_000 }, async () => {
    // The storage panel asks the worker to delete; the worker refuses because another tab holds the run's lock.
    const storageRow = other.locator(`[data-testid="storage-run-row"][data-id="${runId}"]`);
    await storageRow.waitFor({ timeout: 30_000 });
    await storageRow.getByTestId('storage-delete-run').click();
    const failure = other.getByTestId('storage-panel').getByTestId('error-callout');
    await failure.waitFor({ timeout: 30_000 });
    assert.match(await failure.innerText(), new RegExp(`the run "${runId}" is being trained in another tab or window of this browser, so you cannot delete it here; pause or cancel it in that tab first`));
    assert.ok((await storedKeys(other, `runs/${runId}`)).includes(`runs/${runId}/run.json`), 'the run is still stored');
  });

  it('stops the training tab with a clear message when the run is deleted behind its lock, recreating nothing', { timeout: 10 * 60_000 }, async () => {
    const { page } = trainer;
    await page.getByTestId('run-pause').click();
    await page.locator('[data-testid="run-progress"][data-state="running"]').waitFor();
    await deleteBehindTheLock(other, `runs/${runId}`);
    // The run's next commit (after its first task) is refused in the commit's own transaction.
    await page.getByTestId('run-progress').waitFor({ state: 'detached', timeout: 8 * 60_000 });
    const stopped = page.getByTestId('error-callout').filter({ hasText: 'The run stopped' });
    await stopped.waitFor({ timeout: 30_000 });
    assert.match(await stopped.innerText(), /was deleted while it was training \(from another tab or window of this browser\); training stopped, and none of its files were written back/);
    await page.waitForTimeout(2000);
    assert.deepEqual(await storedKeys(page, `runs/${runId}`), [], 'nothing of the run was recreated');
    // The second tab drops the run once its lock is released.
    await other.locator(`[data-testid="run-row"][data-id="${runId}"]`).waitFor({ state: 'detached', timeout: 30_000 });
    await screenshot(page, 'two-tabs-deleted');
  });

  it('raised no uncaught errors in either page or their workers', () => {
    assert.deepEqual(trainer.pageErrors, [], `console errors:\n${trainer.consoleErrors.join('\n')}`);
    assert.deepEqual(otherErrors, []);
  });
});
