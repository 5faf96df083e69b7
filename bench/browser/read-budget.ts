// `npm run bench -- --read-budget --browser`: the app's worker heap while it reads a 300 MB JSONL task. Builds the app,
// serves it with `vite preview`, opens it in Debian's headless Chromium (as the e2e suite does), picks the file in the
// Tasks panel after setting maxTrain 400 and maxTest 50 (the worker's preview, then the data check, which loads the
// task with the caps), then starts a one-step SeqLoRA run on the bundled demo model (the worker reads the task again
// for the run) and waits for its first training step. Every
// worker's V8 heap is sampled every 100 ms through the DevTools protocol (Runtime.getHeapUsage on each worker target);
// the figures are the peaks of each phase. Writes bench-output/read-budget-browser.json. Not a test: it asserts nothing.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CDPSession } from 'playwright-core';
import { build, preview } from 'vite';
import { launchBrowser, openApp } from '../../e2e/browser.ts';
import { writeBigTask } from '../big-task.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface HeapUsage {
  usedSize: number;
  totalSize: number;
  embedderHeapUsedSize?: number;
  backingStorageSize?: number;
}

/** Peaks of each worker's heap, by phase. */
export interface BrowserReadBudget {
  fileBytes: number;
  phases: { phase: string; seconds: number; peakUsedBytes: number; peakTotalBytes: number; peakBackingStoreBytes: number }[];
}

/**
 * Samples the heap of every dedicated worker of a page: the page's DevTools session auto-attaches to its workers (in
 * the non-flat mode, where messages to a worker go through Target.sendMessageToTarget), and each is asked for
 * Runtime.getHeapUsage every `everyMs`.
 */
async function workerHeapSampler(cdp: CDPSession, everyMs = 100) {
  const workers = new Set<string>();
  const pending = new Map<number, (v: HeapUsage | null) => void>();
  let nextId = 0;
  cdp.on('Target.attachedToTarget', (e: { sessionId: string; targetInfo: { type: string } }) => {
    if (e.targetInfo.type === 'worker') workers.add(e.sessionId);
  });
  cdp.on('Target.detachedFromTarget', (e: { sessionId: string }) => workers.delete(e.sessionId));
  cdp.on('Target.receivedMessageFromTarget', (e: { message: string }) => {
    const m = JSON.parse(e.message) as { id?: number; result?: HeapUsage };
    if (m.id !== undefined) pending.get(m.id)?.(m.result ?? null);
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const ask = (sessionId: string) => new Promise<HeapUsage | null>((res) => {
    const id = ++nextId;
    pending.set(id, res);
    setTimeout(() => res(null), 2000);
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) }).catch(() => res(null));
  }).finally(() => pending.delete(nextId));
  let peak = { used: 0, total: 0, backing: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const s of [...workers]) {
        const h = await ask(s);
        if (h) {
          peak.used = Math.max(peak.used, h.usedSize);
          peak.total = Math.max(peak.total, h.totalSize);
          peak.backing = Math.max(peak.backing, h.backingStorageSize ?? 0);
        }
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    workers: () => workers.size,
    /** The peaks since the last call, and starts over. */
    take() {
      const p = peak;
      peak = { used: 0, total: 0, backing: 0 };
      return p;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** A port nothing listens on now, for vite preview. */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** `app`: another checkout of the app to build and measure (default this one). */
export async function runBrowserReadBudget(opts: { file?: string; mb?: number; app?: string }): Promise<void> {
  const appRoot = resolve(opts.app ?? ROOT);
  const big = resolve(opts.file ?? join(tmpdir(), 'clora-read-budget-browser.jsonl'));
  if (!existsSync(big)) {
    process.stderr.write(`  (writing ${opts.mb ?? 300} MB of JSONL to ${big})\n`);
    writeBigTask(big, (opts.mb ?? 300) * 1e6);
  }
  await build({ root: appRoot, logLevel: 'warn' });
  const server = await preview({ root: appRoot, logLevel: 'warn', preview: { host: '127.0.0.1', port: await freePort(), strictPort: true, open: false } });
  const browser = await launchBrowser();
  const phases: BrowserReadBudget['phases'] = [];
  try {
    process.env.E2E_BASE_URL = server.resolvedUrls?.local[0];
    const { page, pageErrors } = await openApp(browser);
    const sampler = await workerHeapSampler(await page.context().newCDPSession(page));
    let mark = performance.now();
    const phase = (name: string) => {
      const p = sampler.take();
      const now = performance.now();
      const seconds = (now - mark) / 1000;
      mark = now;
      phases.push({ phase: name, seconds, peakUsedBytes: p.used, peakTotalBytes: p.total, peakBackingStoreBytes: p.backing });
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      console.log(`  ${name.padEnd(34)} ${seconds.toFixed(1).padStart(6)} s  worker heap peak ${mib(p.used)} used, ${mib(p.total)} allocated (${sampler.workers()} worker${sampler.workers() === 1 ? '' : 's'})`);
    };
    console.log(`${appRoot}: app worker heap (Runtime.getHeapUsage every 100 ms) reading ${(statSync(big).size / 1e6).toFixed(0)} MB of JSONL`);
    await page.locator('[data-testid="model-panel"][data-state="ready"]').waitFor({ timeout: 180_000 });
    phase('app open, demo model ready');
    // The run's settings first, so that the data check the panel runs on a new file reads it with the caps.
    for (const toggle of await page.locator('[data-testid^="method-toggle-"]').all()) {
      const id = await toggle.getAttribute('data-testid');
      if (id === 'method-toggle-seqlora') await toggle.check();
      else await toggle.uncheck();
    }
    for (const [id, v] of [['setting-steps', '1'], ['setting-batchSize', '8'], ['setting-maxLength', '128'], ['setting-maxNewTokens', '2'], ['setting-maxTrain', '400'], ['setting-maxTest', '50']]) {
      await page.getByTestId(id).fill(v);
    }
    phase('settings');
    await page.getByTestId('task-file-input').setInputFiles(big);
    await page.locator('[data-testid="task-row"][data-state="ok"]').waitFor({ timeout: 15 * 60_000 });
    await page.locator('[data-testid="data-check"][aria-busy="false"] [data-task-id][data-majority]').first().waitFor({ timeout: 15 * 60_000 });
    phase('preview and data check of the file');
    await page.getByTestId('run-start-button').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="progress-overall"]')?.getAttribute('data-value') ?? 0) > 0, undefined, { timeout: 15 * 60_000, polling: 200 });
    phase('run: read, copy model, first step');
    if (pageErrors.length > 0) console.log(`  page errors: ${pageErrors.join('; ')}`);
    await sampler.stop();
    mkdirSync(join(ROOT, 'bench-output'), { recursive: true });
    const out: BrowserReadBudget = { fileBytes: statSync(big).size, phases };
    writeFileSync(join(ROOT, 'bench-output/read-budget-browser.json'), JSON.stringify(out, null, 2));
  } finally {
    await browser.close();
    await server.close();
  }
}
