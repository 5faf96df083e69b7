// `clora run EXPORT.zip`: an experiment exported from the app (experiment.json with its task files) run without
// unpacking it by hand: the zip is unpacked into a temporary folder that is removed afterwards.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';

/** The experiment file's name at the top of an export (or in its one top folder). */
const EXPERIMENT_FILE = 'experiment.json';

export interface UnpackedExperiment {
  /** The unpacked experiment file. */
  file: string;
  /** Removes the temporary folder. */
  cleanup(): void;
}

/**
 * Unpacks `zipPath` into a fresh temporary folder and finds its experiment.json (at the top, or in a single top-level
 * folder). An entry that would land outside the folder (an absolute path or "..") is refused, naming it.
 */
export function unpackExperimentZip(zipPath: string, label = zipPath): UnpackedExperiment {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(new Uint8Array(readFileSync(zipPath)));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new Error(`${label}: no such file`);
    throw new Error(`${label}: not a readable zip file (${e instanceof Error ? e.message : String(e)})`);
  }
  const files = Object.keys(entries).filter((p) => !p.endsWith('/'));
  for (const p of files) {
    if (p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.includes('\\') || p.split('/').includes('..')) {
      throw new Error(`${label}: the entry ${JSON.stringify(p)} would be unpacked outside its folder; refusing the zip`);
    }
  }
  const tops = new Set(files.map((p) => p.split('/')[0]));
  const inner = files.includes(EXPERIMENT_FILE) ? EXPERIMENT_FILE
    : tops.size === 1 && files.includes(`${[...tops][0]}/${EXPERIMENT_FILE}`) ? `${[...tops][0]}/${EXPERIMENT_FILE}` : null;
  if (inner === null) throw new Error(`${label}: no ${EXPERIMENT_FILE} at its top (an experiment exported from the app has one)`);
  const dir = mkdtempSync(join(tmpdir(), 'clora-experiment-'));
  try {
    for (const p of files) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), entries[p]);
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { file: join(dir, inner), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
