// End-to-end checks that a browser without WebGPU gets the "WebGPU unavailable" page, never a blank one.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, openApp, screenshot } from './browser.ts';

describe('app without WebGPU', () => {
  const browsers: Browser[] = [];

  after(async () => {
    await Promise.all(browsers.map((b) => b.close()));
  });

  it('explains a missing navigator.gpu', { timeout: 60_000 }, async () => {
    const browser = await launchBrowser();
    browsers.push(browser);
    const { page, pageErrors } = await openApp(browser, { hideWebGpu: true });
    const view = page.getByTestId('webgpu-unavailable');
    await view.waitFor({ timeout: 20_000 });
    const text = await view.innerText();
    assert.match(text, /WebGPU unavailable/i);
    assert.match(text, /does not expose WebGPU/);
    assert.match(text, /chrome:\/\/flags\/#enable-unsafe-webgpu/);
    assert.match(text, /Chrome or Edge 113/);
    assert.match(text, /hardware acceleration/i);
    assert.equal(await page.getByTestId('webgpu-reason').getAttribute('data-reason'), 'no-api');
    assert.equal(await page.getByTestId('adapter-panel').count(), 0);
    await screenshot(page, 'unavailable-no-api');
    assert.deepEqual(pageErrors, []);
  });

  it('explains a browser that returns no adapter', { timeout: 60_000 }, async () => {
    const browser = await launchBrowser({ webgpu: false });
    browsers.push(browser);
    const { page, pageErrors } = await openApp(browser);
    await page.getByTestId('webgpu-unavailable').waitFor({ timeout: 20_000 });
    assert.equal(await page.getByTestId('webgpu-reason').getAttribute('data-reason'), 'no-adapter');
    assert.match(await page.getByTestId('webgpu-unavailable').innerText(), /no GPU adapter/);
    await screenshot(page, 'unavailable-no-adapter');
    assert.deepEqual(pageErrors, []);
  });
});
