// Node-only FileSource over a local directory; kept apart so browser bundles never pull in node:fs.
import { open, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FormatError, MissingFileError } from './errors.ts';
import { decodeText, type FileSource } from './files.ts';
import { checkRange, target, type RandomAccessFile } from './random-access.ts';

function isMissing(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * A local file read at offsets through one file handle: no whole-file buffer, so files over 2 GiB (Node's Buffer
 * limit) read like any other. `name` is what errors show.
 */
export async function nodeRandomAccess(path: string, name: string = path): Promise<RandomAccessFile> {
  const handle = await open(path, 'r');
  let size: number;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`${name}: not a regular file`);
    size = st.size;
  } catch (e) {
    await handle.close();
    throw e;
  }
  let closed = false;
  return {
    name,
    size,
    async read(offset, length, into) {
      checkRange(name, size, offset, length);
      if (closed) throw new Error(`${name}: read after close`);
      const out = target(name, length, into);
      let done = 0;
      // A single read may return fewer bytes than asked (and reads are capped near 2 GiB), so loop until filled.
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, Math.min(length - done, 1 << 30), offset + done);
        if (bytesRead === 0) throw new FormatError(name, `no bytes at offset ${offset + done} while reading bytes ${offset}..${offset + length}: the file is shorter than when it was opened`);
        done += bytesRead;
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
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
    async open(name) {
      try {
        return await nodeRandomAccess(join(root, name), name);
      } catch (e) {
        if (isMissing(e)) throw new MissingFileError(name, root);
        throw e;
      }
    },
  };
}
