// End-to-end checks of the GPU check view in Chromium with WebGPU on SwiftShader: the worker's adapter and the demo panel.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, openApp, screenshot, type AppPage } from './browser.ts';

describe('app with WebGPU (SwiftShader)', () => {
  let browser: Browser;
  let app: AppPage;

  before(async () => {
    browser = await launchBrowser();
    app = await openApp(browser);
  });

  after(async () => {
    await browser?.close();
  });

  it('loads the page', { timeout: 60_000 }, async () => {
    const { page } = app;
    assert.match(await page.title(), /clora/);
    await page.getByTestId('experiment-view').waitFor();
    await page.getByTestId('tab-gpu').click();
    await page.getByTestId('adapter-panel').waitFor();
    await page.getByTestId('demo-panel').waitFor();
    assert.equal(await page.getByTestId('webgpu-unavailable').count(), 0);
  });

  it('shows the SwiftShader adapter reported by the engine worker', { timeout: 60_000 }, async () => {
    const { page } = app;
    const panel = page.locator('[data-testid="adapter-panel"]');
    await page.locator('[data-testid="adapter-panel"]:not([data-state="loading"])').waitFor({ timeout: 30_000 });
    const state = await panel.getAttribute('data-state');
    assert.equal(state, 'ready', `adapter panel: ${await panel.innerText()}`);
    assert.match(await page.getByTestId('adapter-architecture').innerText(), /swiftshader/i);
    assert.match(await page.getByTestId('adapter-vendor').innerText(), /google/i);
    // The report can only come from the worker: the page itself never requests a device.
    const workers = page.workers().map((w) => w.url());
    assert.ok(workers.some((u) => /engine\.worker/.test(u)), `engine worker running (workers: ${workers.join(', ')})`);
    assert.equal(await page.locator('[data-feature="subgroups"]').getAttribute('data-supported'), 'true');
    assert.match(await page.getByTestId('key-limits').innerText(), /maxStorageBufferBindingSize/);
    await screenshot(page, 'main');
  });

  it('runs the demo on the engine: a forward pass and training steps with a live, finite loss', { timeout: 300_000 }, async () => {
    const { page } = app;
    const demo = page.getByTestId('demo-panel');
    const steps = 6;
    await demo.getByLabel('Steps').fill(String(steps));
    await demo.getByLabel('Seq length').fill('16');
    await page.getByTestId('demo-run').click();
    await page.locator('[data-testid="demo-panel"]:is([data-state="done"], [data-state="error"], [data-state="cancelled"])').waitFor({ timeout: 280_000 });
    const state = await demo.getAttribute('data-state');
    if (state === 'error') {
      await screenshot(page, 'demo');
      assert.fail(`demo failed: ${await demo.getByTestId('error-callout').innerText()}`);
    }
    assert.equal(state, 'done');
    assert.equal(await page.getByTestId('stat-step').innerText(), `${steps} / ${steps}`);
    assert.equal(await page.getByTestId('loss-chart').getAttribute('data-points'), String(steps));
    const loss = Number(await page.getByTestId('stat-loss').innerText());
    assert.ok(Number.isFinite(loss) && loss > 0, `final loss ${loss}`);
    await page.getByTestId('forward-info').waitFor();
    await screenshot(page, 'demo');
  });

  it('raised no uncaught errors in the page or the worker', () => {
    assert.deepEqual(app.pageErrors, [], `console errors:\n${app.consoleErrors.join('\n')}`);
  });
});
