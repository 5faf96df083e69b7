// The task-file store on IndexedDB (fake-indexeddb): SHA-256 by crypto.subtle and by the incremental hash agree with the
// standard's vectors, one stored copy per content, files read back as the form's inputs, a lost file named, and only
// files no run names released.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskInput } from '../../src/data/inspect.ts';
import { openAppDatabase, type AppDatabase } from '../../src/storage/idb-storage.ts';
import { hashesOf, releaseTaskFiles, sha256Hex, storeTaskInputs, TASK_FILES, taskFilePath, taskInputsOf, withTaskFileLock } from '../../src/worker/task-files.ts';

const opened: AppDatabase[] = [];
after(() => {
  for (const db of opened) db.close();
});

async function freshRoot() {
  const db = await openAppDatabase({ factory: new IDBFactory() });
  opened.push(db);
  return db.storage();
}

const input = (name: string, files: File[], kind: TaskInput['kind'] = 'file', folder: string | null = null): TaskInput =>
  ({ id: name, name, kind, folder, files, instruction: null, columns: null });

describe('task-file store', () => {
  it('hashes with SHA-256, whole (crypto.subtle) and a chunk at a time alike', async () => {
    // FIPS 180-2 test vectors.
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    assert.equal(await sha256Hex(new Blob(['abc'])), abc);
    assert.equal(await sha256Hex(new Blob(['abc']), 0), abc);
    assert.equal(await sha256Hex(new Blob([''])), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const big = new Uint8Array(300_001).map((_, i) => (i * 131 + (i >> 7)) & 255);
    assert.equal(await sha256Hex(new Blob([big]), 0), await sha256Hex(new Blob([big])));
    assert.notEqual(await sha256Hex(new Blob([big.subarray(1)])), await sha256Hex(new Blob([big])));
  });

  it('stores one copy per content, reads the files back, names a lost one, and releases only unnamed files', async () => {
    const root = await freshRoot();
    const a = new File(['{"input": "x", "output": "y"}\n'], 'a.jsonl');
    const sameAsA = new File(['{"input": "x", "output": "y"}\n'], 'copy-of-a.jsonl');
    const b = new File(['{"input": "p", "output": "q"}\n'], 'b.jsonl');
    const first = await storeTaskInputs(root, [input('a', [a]), input('twin', [sameAsA]), input('bench', [b], 'benchmark', 'data/bench')]);
    assert.equal(Object.keys(first.files).length, 2, 'two contents, two files');
    assert.equal(first.tasks[0].files[0].sha256, first.tasks[1].files[0].sha256);
    assert.deepEqual(first.tasks[2], { name: 'bench', kind: 'benchmark', folder: 'data/bench', files: [{ name: 'b.jsonl', sha256: await sha256Hex(b), size: b.size }], instruction: null, columns: null });
    await root.commit(first.files);
    // A second run of the same files stores nothing new.
    const second = await storeTaskInputs(root, [input('a', [a])]);
    assert.deepEqual(second.files, {});
    assert.equal((await root.list(TASK_FILES)).length, 2);

    const back = await taskInputsOf(root, first.tasks, 'run r');
    assert.deepEqual(back.map((t) => [t.name, t.kind, t.folder, t.files[0].name]), [['a', 'file', null, 'a.jsonl'], ['twin', 'file', null, 'copy-of-a.jsonl'], ['bench', 'benchmark', 'data/bench', 'b.jsonl']]);
    assert.equal(await back[2].files[0].text(), await b.text());

    // Only the first run is left: b is named by no run and goes; a stays.
    assert.deepEqual(await releaseTaskFiles(root, hashesOf(second.tasks)), [first.tasks[2].files[0].sha256]);
    assert.deepEqual(await root.list(TASK_FILES), [taskFilePath(first.tasks[0].files[0].sha256)]);
    await assert.rejects(taskInputsOf(root, first.tasks, 'run r'), /run r: the task "bench" lost its file b\.jsonl/);
    assert.deepEqual(await releaseTaskFiles(root, []), [first.tasks[0].files[0].sha256]);
    assert.deepEqual(await root.list(TASK_FILES), []);
  });

  it('runs holders of the lock one after another', async () => {
    const order: string[] = [];
    const slow = withTaskFileLock(async () => {
      order.push('a start');
      await new Promise((r) => setTimeout(r, 30));
      order.push('a end');
    });
    const fast = withTaskFileLock(async () => {
      order.push('b');
    });
    const failing = withTaskFileLock(async () => {
      throw new Error('boom');
    });
    await Promise.all([slow, fast, assert.rejects(failing, /boom/)]);
    await withTaskFileLock(async () => order.push('after a failure'));
    assert.deepEqual(order, ['a start', 'a end', 'b', 'after a failure']);
  });
});
