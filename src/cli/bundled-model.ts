// Locates the bundled demo model (public/models/demo), which CLI commands use when no model is named.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The demo model's folder inside the package. */
export const BUNDLED_MODEL_PATH = join('public', 'models', 'demo');

/** The bundled demo model's folder, found from this module's location (src/cli or dist). */
export function bundledModelDir(from = dirname(fileURLToPath(import.meta.url))): string {
  const dir = bundledModelNamed('demo', from);
  if (dir !== null) return dir;
  throw new Error(`the bundled demo model (${BUNDLED_MODEL_PATH}) was not found next to ${from}; name a model folder with --model DIR`);
}

/**
 * The folder of the bundled model `name` (public/models/<name>: "demo", "tiny-random"), as the app names the model of a
 * run it exports; null when there is none.
 */
export function bundledModelNamed(name: string, from = dirname(fileURLToPath(import.meta.url))): string | null {
  if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) return null;
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'public', 'models', name);
    if (existsSync(join(candidate, 'config.json'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}
