// Locates the bundled demo model (public/models/demo), which CLI commands use when no model is named.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The demo model's folder inside the package. */
export const BUNDLED_MODEL_PATH = join('public', 'models', 'demo');

/** The bundled demo model's folder, found from this module's location (src/cli or dist). */
export function bundledModelDir(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, BUNDLED_MODEL_PATH);
    if (existsSync(join(candidate, 'config.json'))) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new Error(`the bundled demo model (${BUNDLED_MODEL_PATH}) was not found next to ${from}; name a model folder with --model DIR`);
}
