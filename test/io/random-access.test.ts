// Tests reads by byte range through every FileSource and RunStorage (memory, picked Files, a folder, HTTP ranges, IndexedDB).
// fake-indexeddb/auto installs the IndexedDB classes as globals, which idb's wrapping recognises objects by.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fsStorage } from '../../src/cl/fs-storage.ts';
import { memoryStorage } from '../../src/cl/storage.ts';
import { FormatError, MissingFileError } from '../../src/io/errors.ts';
import { fileListSource, memorySource, urlSource, type FileSource } from '../../src/io/files.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { readWhole, type RandomAccessFile } from '../../src/io/random-access.ts';
import { BLOB_MIN_BYTES, openAppDatabase } from '../../src/storage/idb-storage.ts';

const content = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 255);

/** The same checks for any handle over `content`: exact ranges, an empty range, a range past the end named. */
async function checkHandle(file: RandomAccessFile, name: string): Promise<void> {
  assert.equal(file.size, content.byteLength);
  assert.deepEqual(await file.read(0, 10), content.subarray(0, 10));
  assert.deepEqual(await file.read(997, 3), content.subarray(997));
  assert.deepEqual(await file.read(123, 456), content.subarray(123, 579));
  assert.equal((await file.read(500, 0)).byteLength, 0);
  assert.deepEqual(await readWhole(file), content);
  // The caller owns what it gets: writing into one read does not change the next.
  const a = await file.read(0, 4);
  a.fill(0);
  assert.deepEqual(await file.read(0, 4), content.subarray(0, 4));
  await assert.rejects(file.read(990, 20), (e: unknown) => {
    assert.ok(e instanceof FormatError, String(e));
    assert.equal(e.file, name);
    assert.match(e.message, /bytes 990\.\.1010 lie past the end of the file \(1000 bytes\)/);
    return true;
  });
  await assert.rejects(file.read(-1, 2), RangeError);
  await file.close();
  await file.close();
}

async function checkSource(src: FileSource, name: string): Promise<void> {
  await checkHandle(await src.open(name), name);
  await assert.rejects(src.open('absent.bin'), MissingFileError);
}

describe('FileSource.open', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'clora-ranges-'));
    writeFileSync(join(dir, 'w.bin'), content);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('memory', async () => checkSource(memorySource({ 'w.bin': content }), 'w.bin'));
  test('picked Files are read through Blob slices', async () => {
    const file = new File([content], 'w.bin');
    let sliced = 0;
    const slice = file.slice.bind(file);
    // Counting slice calls shows that reads never go through the whole file.
    file.slice = ((start?: number, end?: number) => (sliced++, slice(start, end))) as typeof file.slice;
    const src = fileListSource([{ file, path: 'model/w.bin' }]);
    await checkSource(src, 'w.bin');
    assert.ok(sliced >= 6, `slice called ${sliced} times`);
  });
  test('a Node folder, read at offsets through a file handle', async () => checkSource(dirSource(dir), 'w.bin'));
});

describe('RunStorage.open', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'clora-ranges-store-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const kinds = [
    ['memory', async () => memoryStorage()],
    ['folder', () => fsStorage(dir)],
    ['IndexedDB', async () => (await openAppDatabase({ factory: new IDBFactory() })).storage()],
  ] as const;
  for (const [kind, make] of kinds) {
    test(kind, async () => {
      const storage = await make();
      await storage.commit({ 'models/m/w.bin': content });
      await checkHandle((await storage.open('models/m/w.bin'))!, 'models/m/w.bin');
      assert.equal(await storage.open('models/m/absent.bin'), null);
      assert.equal(await storage.open('models/m'), null);
    });
  }
});

describe('IndexedDB keeps large files as Blobs', () => {
  test('a range of a large stored file is read through Blob.slice, not by loading the file', async () => {
    const storage = (await openAppDatabase({ factory: new IDBFactory() })).storage('models');
    const big = Uint8Array.from({ length: BLOB_MIN_BYTES + 12345 }, (_, i) => (i * 31 + 7) & 255);
    await storage.commit({ 'm/model.safetensors': big, 'm/config.json': '{}' });
    const slices: [number, number][] = [];
    const slice = Blob.prototype.slice;
    Blob.prototype.slice = function (this: Blob, start?: number, end?: number, type?: string) {
      slices.push([start ?? 0, end ?? this.size]);
      return slice.call(this, start, end, type);
    };
    try {
      const file = (await storage.open('m/model.safetensors'))!;
      assert.equal(file.size, big.byteLength);
      assert.deepEqual(await file.read(BLOB_MIN_BYTES, 100), big.subarray(BLOB_MIN_BYTES, BLOB_MIN_BYTES + 100));
      assert.deepEqual(slices, [[BLOB_MIN_BYTES, BLOB_MIN_BYTES + 100]]);
      await file.close();
    } finally {
      Blob.prototype.slice = slice;
    }
    assert.deepEqual(await storage.read('m/model.safetensors'), big);
    assert.equal(new TextDecoder().decode(await storage.read('m/config.json') ?? undefined), '{}');
    assert.deepEqual((await storage.open('m/config.json'))!.size, 2);
  });
});

describe('urlSource.open (HTTP ranges)', () => {
  let server: Server;
  let base = '';
  const ranges: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '';
      if (!url.endsWith('/w.bin')) {
        res.writeHead(404).end();
        return;
      }
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (url.startsWith('/ranges/') && range) {
        ranges.push(req.headers.range!);
        const [a, b] = [Number(range[1]), Math.min(Number(range[2]), content.byteLength - 1)];
        res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${content.byteLength}`, 'content-length': b - a + 1 });
        res.end(content.subarray(a, b + 1));
      } else {
        res.writeHead(200, { 'content-length': content.byteLength }).end(content);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('a server with range support is asked for each range', async () => {
    await checkSource(urlSource(`${base}/ranges/`), 'w.bin');
    assert.ok(ranges.includes('bytes=123-578'), ranges.join(' '));
  });
  test('a server without range support is read once', async () => checkSource(urlSource(`${base}/plain/`), 'w.bin'));
});
