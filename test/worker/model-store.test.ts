// A model picked as files is kept in IndexedDB as the Files themselves and read back tensor by tensor: the weights
// file is never read whole, neither when it is stored nor when the engine reads it.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readJson } from '../../src/io/files.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { loadWeights, openWeights } from '../../src/model/weights.ts';
import { dirSource } from '../../src/io/node-files.ts';
import { openAppDatabase } from '../../src/storage/idb-storage.ts';
import { openModel } from '../../src/worker/model-store.ts';

const TINY_MODEL = join(import.meta.dirname, '..', '..', 'public', 'models', 'tiny-random');

describe('picked model files in IndexedDB', () => {
  test('are stored without reading the weights file, and each tensor is read through a slice', async () => {
    const wholeReads: string[] = [];
    const files = readdirSync(TINY_MODEL).map((name) => {
      const file = new File([readFileSync(join(TINY_MODEL, name))], name);
      if (name === 'model.safetensors') {
        // Any whole read of the weights shows up here; slices are separate Blobs and do not.
        for (const method of ['arrayBuffer', 'text', 'stream', 'bytes'] as const) {
          Object.defineProperty(file, method, { value: () => (wholeReads.push(method), Promise.reject(new Error(`whole read (${method})`))) });
        }
      }
      return { path: `tiny-random/${name}`, file };
    });
    const storage = (await openAppDatabase({ factory: new IDBFactory() })).storage();
    const { source, kept } = await openModel(storage, { kind: 'files', files, label: 'tiny-random' });
    assert.equal(kept.kind, 'cached');
    const cfg = parseModelConfig(await readJson(source, 'config.json'));
    const reader = await openWeights(source, cfg);
    const want = await loadWeights(dirSource(TINY_MODEL), cfg);
    try {
      for (const name of reader.shapes.keys()) {
        const t = await reader.read(name);
        assert.equal(t.bytes.byteLength, want.get(name)!.data.length * (t.dtype === 'F32' ? 4 : 2), name);
      }
    } finally {
      await reader.close();
    }
    assert.deepEqual(await loadWeights(source, cfg), want);
    assert.deepEqual(wholeReads, []);
  });
});
