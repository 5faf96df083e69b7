// Model choice in the app: a gated Hugging Face repository from the stand-in Hub (test/helpers/hub-server.ts) fetched
// with an access token through the shared Hub client, a reload mid-download that resumes instead of starting over,
// the model then trained; the cached copy on a later visit; model files picked from this computer.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { commitHash, startStandInHub, type StandInHub } from '../test/helpers/hub-server.ts';
import { conflictingStream } from '../test/helpers/streams.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { launchBrowser, openApp, screenshot, type AppPage } from './browser.ts';
import { dropTaskFiles } from './app-steps.ts';

const MODEL_DIR = resolve(import.meta.dirname, '..', 'public', 'models', 'tiny-random');
const REPO = 'clora-test/tiny-random';
const TOKEN = 'hf_e2e_token';
const COMMIT = commitHash('tiny-random');
const WEIGHTS = readFileSync(join(MODEL_DIR, 'model.safetensors')).byteLength;

describe('model choice (WebGPU on SwiftShader)', () => {
  let browser: Browser;
  let app: AppPage;
  let hub: StandInHub;
  const dir = mkdtempSync(join(tmpdir(), 'clora-e2e-hub-'));

  before(async () => {
    const files = Object.fromEntries(readdirSync(MODEL_DIR).map((f) => [f, new Uint8Array(readFileSync(join(MODEL_DIR, f)))]));
    hub = await startStandInHub({ [REPO]: { commits: { [COMMIT]: files }, refs: { main: COMMIT }, gated: true } }, { [TOKEN]: [REPO] });
    browser = await launchBrowser();
    app = await openApp(browser);
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
  });

  const fillHub = async (token: string | null) => {
    const { page } = app;
    await page.locator('[data-testid="model-panel"]:is([data-state="ready"], [data-state="error"])').waitFor({ timeout: 90_000 });
    await page.getByLabel('Hugging Face repository').check();
    await page.getByTestId('model-hub-repo').fill(REPO);
    await page.getByTestId('model-hub-url').fill(hub.endpoint);
    if (token !== null) await page.getByTestId('model-hub-token').fill(token);
  };
  const cdn = () => hub.log.filter((r) => r.server === 'cdn' && r.method === 'GET');

  it('a gated repository without a token names the page where its licence is accepted', { timeout: 120_000 }, async () => {
    await fillHub('');
    await app.page.getByTestId('model-load').click();
    await app.page.locator('[data-testid="model-panel"][data-state="error"]').waitFor({ timeout: 90_000 });
    assert.match(await app.page.getByTestId('model-panel').innerText(), new RegExp(`${REPO} is a gated model \\(no token was given\\): accept its licence at ${hub.endpoint}/${REPO}`));
  });

  it('downloads with a token, survives a reload mid-download without starting over, and keeps the token in this browser', { timeout: 240_000 }, async () => {
    const { page } = app;
    hub.log.length = 0;
    hub.throttle.bytesPerSecond = 40_000; // about 11 s for the weights, so the reload lands mid-file
    await fillHub(TOKEN);
    await page.getByTestId('model-load').click();
    await page.getByText(/Downloading model\.safetensors \(file \d of \d\); .* in all/).waitFor({ timeout: 60_000 });
    await page.waitForTimeout(4000); // a few chunks are stored (one a second)
    await page.reload();
    await fillHub(null);
    assert.equal(await page.getByTestId('model-hub-token').inputValue(), TOKEN, 'the token was kept for this hub address');
    hub.throttle.bytesPerSecond = 0;
    await page.getByTestId('model-load').click();
    await page.locator('[data-testid="model-panel"][data-state="ready"]').waitFor({ timeout: 120_000 });
    assert.equal(await page.getByTestId('model-label').innerText(), REPO);
    const gets = cdn();
    assert.equal(gets.length, 2, JSON.stringify(gets));
    assert.equal(gets[0].range, null);
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
    assert.ok(from > 0 && from < WEIGHTS, `the second request resumed at byte ${from} of ${WEIGHTS}`);
    // The token went to the Hub's origin only; the browser dropped it on the redirect to the CDN's.
    assert.ok(hub.log.filter((r) => r.server === 'hub' && r.method === 'GET').every((r) => r.authorization === `Bearer ${TOKEN}`));
    assert.ok(gets.every((r) => r.authorization === null));
    await screenshot(page, 'model-hub');
  });

  it('the downloaded model trains', { timeout: 20 * 60_000 }, async () => {
    const { page } = app;
    const taskFiles = conflictingStream(dir, 5).slice(0, 1).map((rel) => ({ name: rel.split('/').pop()!, text: readFileSync(join(dir, rel), 'utf8') }));
    await dropTaskFiles(page, taskFiles);
    await page.locator('[data-testid="task-row"][data-state="ok"]').first().waitFor({ timeout: 60_000 });
    // The task preview shows the prompt and answer exactly as the model reads them, special tokens marked.
    await page.getByTestId('task-preview').first().locator('summary').click();
    const cell = page.getByTestId('rendered-prompt').first();
    await cell.waitFor({ timeout: 30_000 });
    assert.match(await cell.innerText(), /^<\|im_start\|>user\n[\s\S]+<\|im_end\|>\n<\|im_start\|>assistant\n\S+<\|im_end\|>$/);
    assert.deepEqual(await cell.getByTestId('special-token').allInnerTexts(), ['<|im_start|>', '<|im_end|>', '<|im_start|>', '<|im_end|>']);
    await screenshot(page, 'task-preview-rendered');
    for (const m of ['replay', 'sapt']) {
      const toggle = page.getByTestId(`method-toggle-${m}`);
      if (await toggle.count()) await toggle.uncheck();
    }
    await page.getByTestId('method-toggle-seqlora').check();
    for (const [id, v] of [['setting-steps', '2'], ['setting-batchSize', '4'], ['setting-maxLength', '48'], ['setting-maxNewTokens', '2']]) await page.getByTestId(id).fill(v);
    await page.getByTestId('run-start-button').click();
    await page.getByTestId('run-progress').waitFor({ timeout: 60_000 });
    await page.getByTestId('run-progress').waitFor({ state: 'detached', timeout: 15 * 60_000 });
    await page.locator('[data-testid="results-view"][data-live="false"]').waitFor({ timeout: 60_000 });
    await screenshot(page, 'model-hub-trained');
  });

  it('uses the cached copy on a later visit: one revision check, no file fetched again', { timeout: 180_000 }, async () => {
    hub.log.length = 0;
    await app.page.reload();
    await fillHub(null);
    await app.page.getByTestId('model-load').click();
    await app.page.locator('[data-testid="model-panel"][data-state="ready"]').waitFor({ timeout: 90_000 });
    // (The saved token makes the browser ask with a CORS preflight first: OPTIONS requests fetch nothing.)
    assert.deepEqual(hub.log.filter((r) => r.method !== 'OPTIONS').map((r) => r.path.split('?')[0]), [`/api/models/${REPO}/revision/main`]);
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

  it('reports a repository that does not exist in one sentence', { timeout: 120_000 }, async () => {
    const { page } = app;
    await page.getByLabel('Hugging Face repository').check();
    await page.getByTestId('model-hub-repo').fill('clora-test/missing');
    await page.getByTestId('model-hub-url').fill(hub.endpoint);
    await page.getByTestId('model-load').click();
    await page.locator('[data-testid="model-panel"][data-state="error"]').waitFor({ timeout: 90_000 });
    assert.match(await page.getByTestId('model-panel').innerText(), /clora-test\/missing is not a model repository on http:\/\/127\.0\.0\.1:\d+/);
  });

  it('raised no uncaught errors in the page or the worker', () => {
    assert.deepEqual(app.pageErrors, [], `console errors:\n${app.consoleErrors.join('\n')}`);
  });
});
