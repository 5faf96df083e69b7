// Model choice in the app: a Hugging Face repository fetched from a hub address (here a local mirror) with
// progress and cached for later visits, and model files picked from this computer.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, openApp, screenshot, type AppPage } from './browser.ts';

const MODEL_DIR = resolve(import.meta.dirname, '..', 'public', 'models', 'tiny-random');
const REPO = 'clora-test/tiny-random';

describe('model choice (WebGPU on SwiftShader)', () => {
  let browser: Browser;
  let app: AppPage;
  let hub: Server;
  let hubUrl = '';
  const served: string[] = [];

  before(async () => {
    // A mirror with the hub's layout: /<owner>/<name>/resolve/<revision>/<file>.
    hub = createServer((req, res) => {
      const m = /^\/clora-test\/tiny-random\/resolve\/main\/([\w.-]+)$/.exec(req.url ?? '');
      const headers = { 'access-control-allow-origin': '*' };
      if (!m || !readdirSync(MODEL_DIR).includes(m[1])) {
        res.writeHead(404, headers).end('not found');
        return;
      }
      served.push(m[1]);
      const body = readFileSync(join(MODEL_DIR, m[1]));
      res.writeHead(200, { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(body.byteLength) }).end(body);
    });
    await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
    hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
    browser = await launchBrowser();
    app = await openApp(browser);
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => hub?.close(r));
  });

  const loadFromHub = async () => {
    const { page } = app;
    await page.locator('[data-testid="model-panel"][data-state="ready"]').waitFor({ timeout: 90_000 });
    await page.getByLabel('Hugging Face repository').check();
    await page.getByTestId('model-hub-repo').fill(REPO);
    await page.getByTestId('model-hub-url').fill(hubUrl);
    await page.getByTestId('model-load').click();
    await page.locator('[data-testid="model-panel"][data-state="ready"]').waitFor({ timeout: 90_000 });
    await page.getByText(REPO, { exact: true }).first().waitFor({ timeout: 90_000 });
  };

  it('downloads a repository from the hub address and shows its size and memory estimate', { timeout: 180_000 }, async () => {
    await loadFromHub();
    const { page } = app;
    assert.equal(await page.getByTestId('model-label').innerText(), REPO);
    assert.match(await page.getByTestId('model-params').innerText(), /\d/);
    assert.deepEqual([...new Set(served)].sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    await screenshot(page, 'model-hub');
  });

  it('uses the cached copy on a later visit without downloading again', { timeout: 180_000 }, async () => {
    const before = served.length;
    await app.page.reload();
    await loadFromHub();
    assert.equal(served.length, before, `nothing fetched again (${served.slice(before).join(', ')})`);
    await app.page.getByTestId('tab-runs').click();
    const row = app.page.getByTestId('storage-model-row');
    await row.first().waitFor({ timeout: 30_000 });
    assert.match(await row.first().innerText(), /tiny-random/);
    await app.page.getByTestId('tab-experiment').click();
  });

  it('loads model files picked from this computer', { timeout: 180_000 }, async () => {
    const { page } = app;
    await page.getByLabel('Files from this computer').check();
    await page.getByTestId('model-files-input').setInputFiles(readdirSync(MODEL_DIR).map((f) => join(MODEL_DIR, f)));
    await page.getByTestId('model-load').click();
    await page.locator('[data-testid="model-panel"][data-state="ready"]').waitFor({ timeout: 90_000 });
    await page.getByText('model files from this computer', { exact: true }).first().waitFor({ timeout: 90_000 });
    assert.match(await page.getByTestId('model-memory').innerText(), /about/);
  });

  it('reports a repository that does not exist, naming the file', { timeout: 120_000 }, async () => {
    const { page } = app;
    await page.getByLabel('Hugging Face repository').check();
    await page.getByTestId('model-hub-repo').fill('clora-test/missing');
    await page.getByTestId('model-load').click();
    await page.locator('[data-testid="model-panel"][data-state="error"]').waitFor({ timeout: 90_000 });
    assert.match(await page.getByTestId('model-panel').innerText(), /config\.json/);
  });

  it('raised no uncaught errors in the page or the worker', () => {
    assert.deepEqual(app.pageErrors, [], `console errors:\n${app.consoleErrors.join('\n')}`);
  });
});
