#!/usr/bin/env node
// Entry point of the `clora` command: runs the bundled CLI (built by `npm run build:cli`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('clora: error: dist/cli.js is missing; run `npm run build:cli` (or `npm install`) first\n');
  process.exit(1);
}
await import(bundle);
