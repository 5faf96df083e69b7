// `npm run gpu:kit`: packs what `npm run bench` needs on a Linux x64 machine with a GPU but no Node.js or network
// access into gpu-kit/kit.tar.xz: this Node binary, the bench bundled into one file, the `webgpu` package's linux-x64
// dawn.node and the onnxruntime-web files the bench loads. scripts/gpu/run-bench.sh unpacks and runs it there from a
// checkout (the bundled models are read from public/models/).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'gpu-kit');
const STAGE = join(OUT, 'kit');
const MODULES = join(ROOT, 'node_modules');

/** Package files the bundle imports at run time (kept external: dawn.node is native, onnxruntime-web loads its own wasm). */
const PACKAGE_FILES = [
  'webgpu/package.json', 'webgpu/index.js', `webgpu/dist/linux-x64/dawn.node`,
  'onnxruntime-web/package.json', 'onnxruntime-web/dist/ort.node.min.mjs', 'onnxruntime-web/dist/ort.webgpu.bundle.min.mjs',
  'onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm', 'onnxruntime-web/dist/ort-wasm-simd-threaded.wasm',
  'onnxruntime-web/dist/ort-wasm-simd-threaded.mjs', 'onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.mjs',
];

rmSync(OUT, { recursive: true, force: true });
mkdirSync(STAGE, { recursive: true });

await build({
  entryPoints: [join(ROOT, 'bench', 'engine.bench.ts')],
  outfile: join(STAGE, 'bench.mjs'),
  bundle: true, platform: 'node', format: 'esm', target: 'node20',
  loader: { '.wgsl': 'text' },
  external: ['webgpu', 'onnxruntime-web', 'onnxruntime-web/webgpu'],
  // A bundled ESM file has no require(); some dependencies still call it.
  banner: { js: "import { createRequire as __kitRequire } from 'node:module'; const require = __kitRequire(import.meta.url);" },
  logLevel: 'warning',
  plugins: [{
    // The Chromium comparison needs a browser and the repository's esbuild: not part of the kit.
    name: 'no-browser-bench',
    setup(b) {
      b.onResolve({ filter: /browser\/run\.ts$/ }, () => ({ path: 'browser-run', namespace: 'kit' }));
      b.onLoad({ filter: /.*/, namespace: 'kit' }, () => ({
        contents: "export async function runBrowserComparison() { throw new Error('the GPU kit runs the Node bench only; run npm run bench -- --browser in a checkout'); }",
        loader: 'js',
      }));
    },
  }],
});

for (const file of PACKAGE_FILES) {
  const to = join(STAGE, 'node_modules', file);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(join(MODULES, file), to);
}
copyFileSync(process.execPath, join(STAGE, 'node'));

execFileSync('tar', ['-C', OUT, '-cJf', join(OUT, 'kit.tar.xz'), 'kit'], { env: { ...process.env, XZ_OPT: '-6 -T0' } });
rmSync(STAGE, { recursive: true, force: true });
const mib = statSync(join(OUT, 'kit.tar.xz')).size / 2 ** 20;
process.stdout.write(`wrote gpu-kit/kit.tar.xz (${mib.toFixed(1)} MiB, Node ${process.version}); carry "gpu-kit" to the GPU machine and run scripts/gpu/run-bench.sh there\n`);
