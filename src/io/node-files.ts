// Node-only FileSource over a local directory; kept apart so browser bundles never pull in node:fs.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MissingFileError } from './errors.ts';
import { decodeText, type FileSource } from './files.ts';

function isMissing(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export function dirSource(dir: string): FileSource {
  const root = resolve(dir);
  async function readBytes(name: string): Promise<Uint8Array> {
    try {
      const buf = await readFile(join(root, name));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if (isMissing(e)) throw new MissingFileError(name, root);
      throw e;
    }
  }
  return {
    label: root,
    async has(name) {
      try {
        return (await stat(join(root, name))).isFile();
      } catch (e) {
        if (isMissing(e)) return false;
        throw e;
      }
    },
    async read(name, onProgress) {
      const out = await readBytes(name);
      onProgress?.(out.byteLength, out.byteLength);
      return out;
    },
    async readText(name) {
      return decodeText(await readBytes(name));
    },
  };
}
