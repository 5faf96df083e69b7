// Launches Debian's Chromium for the e2e specs, with WebGPU on SwiftShader (a software Vulkan adapter), and opens app pages.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The system Chromium; never a browser downloaded by Playwright. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Keeps Chromium from phoning home and from first-run UI. */
const QUIET_ARGS = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Flags that give `navigator.gpu.requestAdapter()` Chromium's SwiftShader adapter, in pages and workers, headless.
 * Playwright adds a fresh temporary --user-data-dir for every launch.
 */
export const WEBGPU_ARGS = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', ...QUIET_ARGS];

/** Same browser without --enable-unsafe-webgpu: on Linux navigator.gpu exists but returns no adapter. */
export const NO_WEBGPU_ARGS = ['--headless=new', '--no-sandbox', ...QUIET_ARGS];

export const OUTPUT_DIR = resolve(import.meta.dirname, '..', 'e2e-output');

export async function launchBrowser(opts: { webgpu?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: opts.webgpu === false ? NO_WEBGPU_ARGS : WEBGPU_ARGS,
  });
}

/** The served app's URL, set by e2e/run.ts. */
export function baseUrl(): string {
  const url = process.env.E2E_BASE_URL;
  if (!url) throw new Error('E2E_BASE_URL is not set: run the specs through `npm run test:e2e` (e2e/run.ts)');
  return url.endsWith('/') ? url : `${url}/`;
}

export interface AppPage {
  page: Page;
  /** Uncaught exceptions of the page and its workers. */
  pageErrors: string[];
  /** console.error lines, for diagnostics. */
  consoleErrors: string[];
}

/** A new page in a fresh context; `hideWebGpu` makes `navigator.gpu` undefined before any app script runs. */
export async function openApp(browser: Browser, opts: { hideWebGpu?: boolean } = {}): Promise<AppPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  if (opts.hideWebGpu) {
    // A string, not a function: the TypeScript loader may add helpers to functions that do not exist in the page.
    await context.addInitScript({
      content: "Object.defineProperty(Navigator.prototype, 'gpu', { get() { return undefined; }, configurable: true });",
    });
  }
  const page = await context.newPage();
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('worker', (w) => w.on('console', (m) => m.type() === 'error' && consoleErrors.push(`[worker] ${m.text()}`)));
  await page.goto(baseUrl());
  return { page, pageErrors, consoleErrors };
}

/** Saves a full-page screenshot to e2e-output/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const path = join(OUTPUT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}
