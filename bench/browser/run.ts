// `npm run bench -- --browser`: bundles ./page.ts with esbuild, serves it with the bundled models and onnxruntime-web's
// dist folder on localhost, runs the forward comparison in Debian's headless Chromium (WebGPU on its adapter,
// launched as the e2e suite does), and prints the same table as the Node run; raw figures go to
// bench-output/engine-browser.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { build } from 'esbuild';
import { launchBrowser } from '../../e2e/browser.ts';
import { comparisonHeader, formatComparisonRow } from '../forward-comparison.ts';
import type { BenchModelOptions } from '../models.ts';
import type { PageComparison } from './page.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ORT_DIST = join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
const MODELS = join(ROOT, 'public', 'models');
const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html' };

/** The page as one ES module, shaders inlined as text. */
async function bundlePage(): Promise<string> {
  const out = await build({
    entryPoints: [join(import.meta.dirname, 'page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    loader: { '.wgsl': 'text' }, write: false, logLevel: 'warning',
  });
  return out.outputFiles[0].text;
}

/** A file under `root` named by the rest of the URL path, or null (also for paths leaving `root`). */
function fileUnder(root: string, rest: string): Buffer | null {
  const file = normalize(join(root, rest));
  if (!file.startsWith(root)) return null;
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

function serve(script: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    let body: Buffer | string | null = null;
    if (path === '/') body = '<!doctype html><meta charset="utf-8"><title>clora bench</title><script type="module" src="/bench.js"></script>';
    else if (path === '/bench.js') body = script;
    else if (path.startsWith('/ort/')) body = fileUnder(ORT_DIST, path.slice('/ort/'.length));
    else if (path.startsWith('/models/')) body = fileUnder(MODELS, path.slice('/models/'.length));
    if (body === null) {
      res.writeHead(404).end();
      return;
    }
    const type = path === '/' ? 'text/html' : TYPES[extname(path)] ?? 'application/octet-stream';
    res.writeHead(200, { 'content-type': type }).end(body);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    done({ server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/` });
  }));
}

export async function runBrowserComparison(opts: Omit<BenchModelOptions, 'software'>): Promise<PageComparison> {
  const { server, url } = await serve(await bundlePage());
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      // Model folders are probed for optional files (a shard index, tokenizer_config.json): their 404s are expected.
      if (!/Failed to load resource: .* 404/.test(m.text())) process.stderr.write(`  (page) ${m.text()}\n`);
    });
    page.on('pageerror', (e) => process.stderr.write(`  (page error) ${e.message}\n`));
    await page.goto(url);
    await page.waitForFunction(() => 'runComparison' in globalThis);
    const result = await page.evaluate((o) => (globalThis as unknown as { runComparison(o: unknown): Promise<PageComparison> }).runComparison(o), opts);
    const { vendor, architecture, description, isSoftware } = result.adapter;
    console.log(`browser: ${result.userAgent}`);
    console.log(`adapter: ${[vendor, architecture, description].filter(Boolean).join(' / ')}${isSoftware ? ' (software: timings say nothing about a GPU; compare ratios only)' : ''}\n`);
    for (const line of comparisonHeader(result, result.startupMs)) console.log(line);
    for (const row of result.rows) console.log(formatComparisonRow(row));
    mkdirSync(join(ROOT, 'bench-output'), { recursive: true });
    writeFileSync(join(ROOT, 'bench-output', 'engine-browser.json'), JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2));
    console.log('\nwrote bench-output/engine-browser.json');
    return result;
  } finally {
    await browser.close();
    server.close();
  }
}
