// Vite configuration for the browser app: React UI, the engine Web Worker (ES module) and WGSL shaders imported as text.
import { readFile } from 'node:fs/promises';
import { defineConfig, type Plugin } from 'vite';

/** Makes `import src from '../../shaders/x.wgsl'` yield the shader source as the default export. */
function wgslText(): Plugin {
  return {
    name: 'clora:wgsl-text',
    enforce: 'pre',
    async load(id) {
      const [file, query] = id.split('?', 2);
      // Leave explicit queries such as `?raw` or `?url` to Vite's own asset handling.
      if (!file.endsWith('.wgsl') || query !== undefined) return null;
      this.addWatchFile(file);
      const text = await readFile(file, 'utf8');
      return { code: `export default ${JSON.stringify(text)};`, map: { mappings: '' } };
    },
  };
}

export default defineConfig({
  plugins: [wgslText()],
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  worker: {
    format: 'es',
    // Worker bundles go through their own plugin pipeline; the engine in the worker imports shaders too.
    plugins: () => [wgslText()],
  },
  build: {
    target: 'es2022',
    // dist/ also holds the CLI bundle (dist/cli.js), which a web build must not wipe.
    outDir: 'dist/web',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
});
