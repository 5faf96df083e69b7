// The IndexedDB RunStorage on fake-indexeddb: the storage contract, folder scoping, atomic commits under injected failures, reopening, usage and listFolders.
// fake-indexeddb/auto installs the IndexedDB classes as globals, which idb's wrapping recognises objects by.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunStorage } from '../../src/cl/storage.ts';
import { contents, describeRunStorageContract, text } from '../helpers/storage-contract.ts';
import { listFolders, openAppDatabase, RecordGoneError, StorageQuotaError, type AppDatabase } from '../../src/storage/idb-storage.ts';

const opened: AppDatabase[] = [];
after(() => {
  for (const db of opened) db.close();
});

/** Opens the app database in a factory of its own, so tests never share data. */
async function freshDatabase(factory: IDBFactory = new IDBFactory(), name?: string): Promise<AppDatabase> {
  const db = await openAppDatabase({ factory, name });
  opened.push(db);
  return db;
}

const implementations: [string, () => Promise<RunStorage>][] = [
  ['whole database', async () => (await freshDatabase()).storage()],
  ['scoped to a folder', async () => (await freshDatabase()).storage('work/area')],
];

for (const [name, make] of implementations) describeRunStorageContract(`IndexedDB storage, ${name}`, make);

describe('IndexedDB storage scoped to a folder', () => {
  it('names the database and folder in its label', async () => {
    const db = await freshDatabase(new IDBFactory(), 'my-db');
    assert.equal(db.storage().label, 'IndexedDB "my-db"');
    assert.equal(db.storage('').label, 'IndexedDB "my-db"');
    assert.equal(db.storage('runs/r1').label, 'IndexedDB "my-db" runs/r1');
    assert.equal(db.storage('runs/r1/').label, 'IndexedDB "my-db" runs/r1');
    assert.equal((await freshDatabase()).storage('models').label, 'IndexedDB "clora" models');
  });

  it('reads and writes under its folder and sees nothing outside it, not even a folder whose name extends its own', async () => {
    const db = await freshDatabase();
    const root = db.storage();
    const r1 = db.storage('runs/r1');
    await root.commit({ 'runs/r10/results.json': 'ten', 'runs/r1.json': 'file beside', 'other.json': 'o' });
    await r1.commit({ 'results.json': 'one', 'lora/a.bin': new Uint8Array([1]) });
    assert.equal(text(await root.read('runs/r1/results.json')), 'one');
    assert.equal(text(await r1.read('results.json')), 'one');
    assert.deepEqual(await r1.list(''), ['lora/a.bin', 'results.json']);
    assert.deepEqual(await r1.list('lora'), ['lora/a.bin']);
    assert.equal(await db.storage('runs/r10').read('results.json').then(text), 'ten');
    await r1.remove('');
    assert.deepEqual(await root.list(''), ['other.json', 'runs/r1.json', 'runs/r10/results.json']);
  });

  it('refuses to write under a folder whose own path, or a path above it, is a file', async () => {
    const db = await freshDatabase();
    await db.storage().commit({ 'runs/r1': 'a file', models: 'another' });
    await assert.rejects(db.storage('runs/r1').commit({ 'x.json': '1' }), /IndexedDB "clora" runs\/r1: cannot write x\.json: runs\/r1 \(this storage's own folder\) is a file/);
    await assert.rejects(db.storage('models/tiny').commit({ 'x.json': '1' }), /cannot write x\.json: models \(outside this storage\) is a file/);
    assert.deepEqual(await contents(db.storage()), { models: 'another', 'runs/r1': 'a file' });
  });

  it('refuses every commit once the file it requires (a run\'s record) is gone, and writes nothing', async () => {
    const db = await freshDatabase();
    await db.storage().commit({ 'runs/r1/run.json': '{}' });
    const run = db.storage('runs/r1', { requires: 'runs/r1/run.json' });
    await run.commit({ 'ewc/state.json': '1' });
    assert.deepEqual(await contents(db.storage()), { 'runs/r1/ewc/state.json': '1', 'runs/r1/run.json': '{}' });
    // Deleted from another tab: the training tab's next commit must not bring the run back.
    await db.storage('runs').remove('r1');
    await assert.rejects(run.commit({ 'ewc/state.json': '2', 'results.json': '{}' }), (e: Error) => {
      assert.ok(e instanceof RecordGoneError);
      assert.equal(e.message, 'IndexedDB "clora" runs/r1: runs/r1/run.json no longer exists (it was deleted, perhaps from another tab), so nothing from this commit was saved and the deleted files are not recreated');
      return true;
    });
    // Not even the record itself, through a storage that requires it.
    await assert.rejects(db.storage('runs', { requires: 'runs/r1/run.json' }).commit({ 'r1/run.json': '{"status":"done"}' }), RecordGoneError);
    assert.deepEqual(await contents(db.storage()), {});
    assert.throws(() => db.storage('runs/r1', { requires: '../run.json' }), /invalid path/);
  });

  it('rejects an invalid folder prefix when the storage is made', async () => {
    const db = await freshDatabase();
    assert.throws(() => db.storage('../x'), /IndexedDB "clora": invalid path "\.\.\/x"/);
    assert.throws(() => db.storage('/abs'), /absolute paths are not allowed/);
  });
});

/** How `withFailingPut` makes the chosen write fail. */
type FailureKind =
  /** put() itself throws. */
  | 'put-throws'
  /** put() returns a request that later fails with the error, aborting the transaction. */
  | 'request-fails'
  /** The put succeeds, but the transaction then aborts with the error, which only `transaction.error` reports. */
  | 'transaction-aborts';

/** Internals of fake-indexeddb's transactions, used to make a request fail or the transaction abort from within. */
interface FakeTransaction {
  /** Queues an operation; one with a source becomes a request whose error aborts the transaction, one without just runs. */
  _execRequestAsync(req: { operation: () => unknown; source?: unknown }): IDBRequest;
  /** Rolls the transaction back and aborts it with a new DOMException of that name as its error. */
  _abort(errorName: string | null): void;
}

/**
 * Runs `fn` while the `nth` call (from 1) of IDBObjectStore.put, across all transactions, fails
 * with `makeError()` in the given way; put is restored afterwards.
 */
async function withFailingPut<T>(nth: number, kind: FailureKind, makeError: () => DOMException, fn: () => Promise<T>): Promise<T> {
  const proto = IDBObjectStore.prototype;
  const original = proto.put;
  let calls = 0;
  proto.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>): IDBRequest<IDBValidKey> {
    if (++calls !== nth) return original.apply(this, args);
    const tx = this.transaction as unknown as FakeTransaction;
    if (kind === 'put-throws') throw makeError();
    if (kind === 'request-fails') return tx._execRequestAsync({ operation: () => { throw makeError(); }, source: this }) as IDBRequest<IDBValidKey>;
    const request = original.apply(this, args);
    // Once this put has been stored, abort as a browser does when it cannot write the transaction out.
    tx._execRequestAsync({ operation: () => tx._abort(makeError().name) });
    return request;
  };
  try {
    return await fn();
  } finally {
    proto.put = original;
  }
}

const quotaError = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');

describe('IndexedDB storage atomicity', () => {
  const before = { 'runs/r1/state.json': '{"v":1}', 'runs/r1/lora.bin': 'one', 'index.json': '[1]' };
  const next = { 'runs/r1/state.json': '{"v":2}', 'runs/r1/lora.bin': 'two', 'index.json': '[1,2]', 'runs/r1/new.json': 'new' };
  const nextBytes = Object.values(next).reduce((n, v) => n + new TextEncoder().encode(v).byteLength, 0);

  for (const kind of ['put-throws', 'request-fails', 'transaction-aborts'] as const) {
    for (const failAt of [1, 3, 4]) {
      it(`a quota failure (${kind}) at write ${failAt} of 4 saves nothing from the commit and keeps earlier data`, async () => {
        const db = await freshDatabase();
        const s = db.storage();
        await s.commit(before);
        const err = await withFailingPut(failAt, kind, quotaError, () => s.commit(next).then(() => null, (e: unknown) => e));
        assert.ok(err instanceof StorageQuotaError, `expected a StorageQuotaError, got ${String(err)}`);
        assert.equal(err.name, 'StorageQuotaError');
        assert.equal(err.storage, s.label);
        assert.equal(err.bytes, nextBytes);
        assert.ok(err.message.startsWith(`${s.label}: out of storage space`), err.message);
        assert.match(err.message, new RegExp(`${nextBytes} bytes in 4 files`));
        assert.match(err.message, /nothing from this commit was saved/);
        assert.match(err.message, /deleting old runs or cached models/);
        assert.deepEqual(await contents(s), before);
        // The storage keeps working after the failure.
        await s.commit(next);
        assert.deepEqual(await contents(s), { ...before, ...next });
      });
    }
  }

  it('reports a quota failure of a scoped storage with that storage\'s label', async () => {
    const db = await freshDatabase();
    const s = db.storage('models/tiny');
    const err = await withFailingPut(2, 'request-fails', quotaError, () => s.commit({ a: 'x', b: 'yy' }).then(() => null, (e: unknown) => e));
    assert.ok(err instanceof StorageQuotaError);
    assert.match(err.message, /^IndexedDB "clora" models\/tiny: out of storage space: the commit tried to write 3 B \(3 bytes in 2 files\)/);
    assert.deepEqual(await db.storage().list(''), []);
  });

  for (const kind of ['put-throws', 'request-fails', 'transaction-aborts'] as const) {
    it(`another failure (${kind}) becomes an Error naming the storage and the operation, and saves nothing`, async () => {
      const db = await freshDatabase();
      const s = db.storage('runs/r2');
      await s.commit({ 'a.json': 'old' });
      const failing = () => new DOMException('disk trouble', 'UnknownError');
      const err = await withFailingPut(2, kind, failing, () => s.commit({ 'a.json': 'new', 'b.json': 'new' }).then(() => null, (e: unknown) => e));
      assert.ok(err instanceof Error && !(err instanceof StorageQuotaError), String(err));
      assert.match(err.message, /^IndexedDB "clora" runs\/r2: could not commit 2 files \(nothing from this commit was saved\): /);
      assert.deepEqual(await contents(s), { 'a.json': 'old' });
    });
  }
});

describe('openAppDatabase', () => {
  it('sees committed data after closing and reopening', async () => {
    const factory = new IDBFactory();
    const first = await openAppDatabase({ factory });
    await first.storage('runs/r1').commit({ 'results.json': '{"ok":true}', 'w.bin': new Uint8Array([7, 8]) });
    first.close();
    const again = await freshDatabase(factory);
    assert.deepEqual(await again.storage().list(''), ['runs/r1/results.json', 'runs/r1/w.bin']);
    assert.deepEqual(await again.storage('runs/r1').read('w.bin'), new Uint8Array([7, 8]));
  });

  it('keeps databases of different names apart', async () => {
    const factory = new IDBFactory();
    await (await freshDatabase(factory, 'one')).storage().commit({ f: '1' });
    assert.deepEqual(await (await freshDatabase(factory, 'two')).storage().list(''), []);
  });

  it('makes operations on a closed database fail with the storage and operation named', async () => {
    const db = await openAppDatabase({ factory: new IDBFactory() });
    const s = db.storage('runs');
    db.close();
    await assert.rejects(s.read('a.json'), /^Error: IndexedDB "clora" runs: could not read a\.json: /);
    await assert.rejects(s.list(''), /IndexedDB "clora" runs: could not list the files: /);
  });

  it('says so when there is no IndexedDB at all', async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB');
    Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true, writable: true });
    try {
      await assert.rejects(openAppDatabase(), /IndexedDB "clora": IndexedDB is not available here/);
    } finally {
      Object.defineProperty(globalThis, 'indexedDB', saved!);
    }
  });
});

describe('AppDatabase.usage', () => {
  it('counts bytes in total and per first- and second-level folder, without a browser estimate in Node', async () => {
    const db = await freshDatabase();
    await db.storage().commit({
      'runs/r1/a.bin': new Uint8Array(10),
      'runs/r1/sub/b.bin': new Uint8Array(5),
      'runs/r2/c.bin': new Uint8Array(7),
      'runs/index.json': 'xy',
      'models/tiny/model.safetensors': new Uint8Array(100),
      'root.txt': 'abc',
    });
    assert.deepEqual(await db.usage(), {
      totalBytes: 127,
      byFolder: { runs: 24, 'runs/r1': 15, 'runs/r2': 7, models: 100, 'models/tiny': 100 },
      quota: null,
      usage: null,
    });
    await db.storage('runs').remove('r1');
    assert.deepEqual((await db.usage()).byFolder, { runs: 9, 'runs/r2': 7, models: 100, 'models/tiny': 100 });
  });

  it('is zero for an empty database', async () => {
    assert.deepEqual(await (await freshDatabase()).usage(), { totalBytes: 0, byFolder: {}, quota: null, usage: null });
  });
});

describe('listFolders', () => {
  it('lists the distinct folders directly under a prefix, sorted, leaving out files', async () => {
    const s = (await freshDatabase()).storage();
    await s.commit({ 'runs/b/x.json': '1', 'runs/b/deep/y.json': '1', 'runs/a/z.json': '1', 'runs/readme.txt': '1', 'runs10/q/w': '1', 'models/m/f': '1' });
    assert.deepEqual(await listFolders(s, 'runs'), ['a', 'b']);
    assert.deepEqual(await listFolders(s, 'runs/'), ['a', 'b']);
    assert.deepEqual(await listFolders(s, ''), ['models', 'runs', 'runs10']);
    assert.deepEqual(await listFolders(s, 'runs/b'), ['deep']);
    assert.deepEqual(await listFolders(s, 'nothing'), []);
    await assert.rejects(listFolders(s, '../x'), /invalid path/);
  });
});
