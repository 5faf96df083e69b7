// Runs the e2e suite: builds the web app, serves it with `vite preview` on a free localhost port, runs e2e/*.spec.ts with node's test runner, and always stops the server.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';
import { CHROMIUM_PATH } from './browser.ts';

const root = resolve(import.meta.dirname, '..');
const e2eDir = join(root, 'e2e');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => res(port));
    });
  });
}

function runSpecs(files: string[], baseUrl: string): Promise<number> {
  const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...files];
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, E2E_BASE_URL: baseUrl },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((res) => {
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      res(code ?? (signal ? 1 : 0));
    });
    child.on('error', (e) => {
      console.error(`e2e: could not start the test runner: ${e.message}`);
      res(1);
    });
  });
}

async function main(): Promise<number> {
  const t0 = performance.now();
  if (!existsSync(CHROMIUM_PATH)) {
    console.error(`e2e: no Chromium at ${CHROMIUM_PATH} (install Debian's chromium package, or set CHROMIUM_PATH)`);
    return 1;
  }
  const filter = process.argv.slice(2);
  const files = readdirSync(e2eDir)
    .filter((f) => f.endsWith('.spec.ts'))
    .filter((f) => filter.length === 0 || filter.some((name) => f.includes(name)))
    .sort()
    .map((f) => join('e2e', f));
  if (files.length === 0) {
    console.error('e2e: no spec files matched');
    return 1;
  }

  if (process.env.E2E_SKIP_BUILD !== '1') {
    await build({ root, logLevel: 'warn' });
  }
  const tBuild = performance.now();

  let server: PreviewServer | null = null;
  try {
    const port = await freePort();
    server = await preview({ root, logLevel: 'warn', preview: { host: '127.0.0.1', port, strictPort: true, open: false } });
    const baseUrl = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`;
    console.log(`e2e: serving ${baseUrl}; specs: ${files.join(' ')}`);
    const code = await runSpecs(files, baseUrl);
    const tEnd = performance.now();
    console.log(`e2e: build ${seconds(tBuild - t0)}, specs ${seconds(tEnd - tBuild)}, total ${seconds(tEnd - t0)}; screenshots in e2e-output/`);
    return code;
  } finally {
    await server?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('e2e:', error);
    process.exit(1);
  },
);
