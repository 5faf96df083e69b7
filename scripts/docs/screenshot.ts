// Takes the README's screenshot: builds the app, serves it with `vite preview`, opens the published real-data run
// (docs/results/real-stream/order-1/results.json) in the Runs view of Debian's Chromium and saves the top of the results
// view to docs/images/results.png. Dev-time only: `node --import tsx scripts/docs/screenshot.ts`.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, preview } from 'vite';
import { launchBrowser, openApp } from '../../e2e/browser.ts';

const root = resolve(import.meta.dirname, '..', '..');
const resultsFile = join(root, 'docs', 'results', 'real-stream', 'order-1', 'results.json');
const out = join(root, 'docs', 'images', 'results.png');

await build({ root, logLevel: 'warn' });
const server = await preview({ root, logLevel: 'warn', preview: { host: '127.0.0.1', port: 0, open: false } });
process.env.E2E_BASE_URL = server.resolvedUrls?.local[0];
const browser = await launchBrowser();
try {
  const { page } = await openApp(browser);
  await page.getByTestId('tab-runs').click();
  await page.getByTestId('open-results-input').setInputFiles(resultsFile);
  const view = page.getByTestId('runs-tab').getByTestId('results-view');
  await view.waitFor({ timeout: 60_000 });
  await page.waitForTimeout(1500); // charts finish their first layout
  mkdirSync(join(root, 'docs', 'images'), { recursive: true });
  // The top of the view: the metrics table and the forgetting curves (clip in page coordinates).
  const box = await view.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height };
  });
  await page.screenshot({ path: out, fullPage: true, animations: 'disabled', clip: { ...box, height: Math.min(box.height, 1420) } });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await new Promise<void>((res) => server.httpServer.close(() => res()));
}
