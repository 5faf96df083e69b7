// Node-only ByteSources over local files and benchmark task folders; kept apart so browser bundles never pull in node:fs.
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MissingFileError } from '../io/errors.ts';
import { DEFAULT_CHUNK_SIZE, extensionOf, stemOf, type ByteSource } from './byte-source.ts';
import type { BenchmarkFiles } from './load.ts';
import { SUPPORTED_EXTENSIONS } from './parse.ts';

function statOrMissing(path: string) {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as { code?: string } | null)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new MissingFileError(basename(path), dirname(resolve(path)));
    throw e;
  }
}

/**
 * A local file read with fs.createReadStream in chunks of `chunkSize` bytes. `name` (default: the file's base
 * name) is what errors and the task name use.
 */
export function nodeFileSource(path: string, name: string = basename(path), chunkSize = DEFAULT_CHUNK_SIZE): ByteSource {
  const st = statOrMissing(path);
  if (!st.isFile()) throw new Error(`${path}: not a regular file`);
  return {
    name,
    size: st.size,
    async *stream() {
      for await (const chunk of createReadStream(path, { highWaterMark: chunkSize })) {
        const buf = chunk as Buffer;
        yield new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      }
    },
  };
}

/** File stems accepted for each split of a benchmark task folder. */
const SPLIT_STEMS: Record<keyof BenchmarkFiles, readonly string[]> = {
  train: ['train'],
  dev: ['dev', 'validation'],
  test: ['test'],
};

/**
 * The split files of a benchmark task folder (train.json, dev.json, test.json; .jsonl, .csv and .tsv are accepted
 * too). Sources are named `folder/file` so messages say which task a file belongs to. Missing splits are left out;
 * loadBenchmarkTask says which are required.
 */
export function nodeDirTaskSources(dir: string): { folder: string; files: BenchmarkFiles } {
  const st = statOrMissing(dir);
  if (!st.isDirectory()) throw new Error(`${dir}: not a folder`);
  const folder = basename(resolve(dir));
  const names = readdirSync(dir).filter((n) => (SUPPORTED_EXTENSIONS as readonly string[]).includes(extensionOf(n)));
  const files: BenchmarkFiles = {};
  for (const split of Object.keys(SPLIT_STEMS) as (keyof BenchmarkFiles)[]) {
    const hits = names.filter((n) => SPLIT_STEMS[split].includes(stemOf(n).toLowerCase())).sort();
    if (hits.length > 1) throw new Error(`${folder}: several ${split} files (${hits.join(', ')}); keep one`);
    if (hits.length === 1) files[split] = nodeFileSource(join(dir, hits[0]), `${folder}/${hits[0]}`);
  }
  return { folder, files };
}
