// A WebGPU device destroyed mid-run in Chromium (device.destroy() on the engine worker's own device, as page code or
// an extension could) stops the run as the resumable "interrupted", like a GPU-process loss, and Resume finishes it on
// a new device.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Worker } from 'playwright-core';
import { conflictingStream } from '../test/helpers/streams.ts';
import { launchBrowser, openApp, screenshot, type AppPage } from './browser.ts';
import { dropTaskFiles, loadBundledModel } from './app-steps.ts';

describe('a destroyed GPU device mid-run (WebGPU on SwiftShader)', () => {
  let browser: Browser;
  let app: AppPage;
  const dir = mkdtempSync(join(tmpdir(), 'clora-destroy-'));
  const taskFiles = conflictingStream(dir, 4, undefined, 16).slice(0, 2).map((rel) => ({ name: rel.split('/').pop()!, text: readFileSync(join(dir, rel), 'utf8') }));

  before(async () => {
    browser = await launchBrowser();
    app = await openApp(browser);
  });

  after(async () => {
    await browser?.close();
  });

  it('records the run as interrupted, naming the loss, and Resume finishes it', { timeout: 15 * 60_000 }, async () => {
    const { page } = app;
    const engine = (): Worker => {
      const w = page.workers().find((x) => /engine\.worker/.test(x.url()));
      assert.ok(w, `the engine worker (workers: ${page.workers().map((x) => x.url()).join(', ')})`);
      return w;
    };
    await loadBundledModel(page, 'tiny-random');
    await dropTaskFiles(page, taskFiles);
    await page.locator('[data-testid="task-row"][data-state="ok"]').nth(1).waitFor({ timeout: 60_000 });
    await page.getByTestId('method-toggle-replay').uncheck();
    await page.getByTestId('method-toggle-seqlora').check();
    for (const [id, v] of [['setting-steps', '12'], ['setting-batchSize', '2'], ['setting-maxLength', '32'], ['setting-maxNewTokens', '2'], ['setting-seed', '5']]) {
      await page.getByTestId(id).fill(v);
    }
    // The worker keeps its device to itself: every GPUDevice call made from now on leaves the device on `self`.
    await engine().evaluate(() => {
      const proto = GPUDevice.prototype as GPUDevice & { __clora?: true };
      if (proto.__clora) return;
      proto.__clora = true;
      const create = proto.createCommandEncoder;
      proto.createCommandEncoder = function (this: GPUDevice, ...args: Parameters<GPUDevice['createCommandEncoder']>) {
        (self as unknown as { __device: GPUDevice }).__device = this;
        return create.apply(this, args);
      };
    });
    await page.getByTestId('run-start-button').click();
    // Once the second task trains, the first is committed with its checkpoint: destroy the device.
    await page.getByRole('progressbar', { name: /task 2\/2/ }).waitFor({ timeout: 8 * 60_000 });
    await engine().evaluate(() => (self as unknown as { __device: GPUDevice }).__device.destroy());
    const stopped = page.getByTestId('error-callout').filter({ hasText: 'The run stopped' });
    await stopped.waitFor({ timeout: 120_000 });
    assert.match(await stopped.innerText(), /the GPU device was lost \(destroyed: [^)]*\); resume the run to continue from its last checkpoint/);
    assert.doesNotMatch(await stopped.innerText(), /Buffer was unmapped/);

    await page.getByTestId('tab-runs').click();
    const row = page.getByTestId('runs-tab').locator('[data-testid="run-row"][data-status="interrupted"]');
    await row.waitFor({ timeout: 30_000 });
    assert.match(await row.getByTestId('run-error').innerText(), /GPU device was lost \(destroyed/);
    await screenshot(page, 'device-destroyed');
    const id = await row.getAttribute('data-id');
    await row.getByTestId('run-resume').click();
    // Resume shows the run's progress in the Experiment view; the Runs view lists it as done once it has finished.
    await page.getByTestId('run-progress').waitFor({ timeout: 60_000 });
    await page.getByTestId('run-progress').waitFor({ state: 'detached', timeout: 8 * 60_000 });
    assert.equal(await page.getByTestId('error-callout').filter({ hasText: 'The run stopped' }).count(), 0, 'the resumed run finished');
    await page.getByTestId('tab-runs').click();
    await page.getByTestId('runs-tab').locator(`[data-testid="run-row"][data-id="${id}"][data-status="done"]`).waitFor({ timeout: 60_000 });
  });

  it('raised no uncaught errors in the page or the worker', () => {
    assert.deepEqual(app.pageErrors, [], `console errors:\n${app.consoleErrors.join('\n')}`);
  });
});
