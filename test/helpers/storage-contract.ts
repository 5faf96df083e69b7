// The RunStorage contract (paths, commit, list, remove, JSON helpers) as one suite, run against every implementation:
// memory and filesystem (test/cl/storage.test.ts) and IndexedDB (test/storage/idb-storage.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkPath, readJsonFile, writeJsonFiles, type RunStorage } from '../../src/cl/storage.ts';

export const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

/** Every file of a storage with its contents as text. */
export async function contents(s: RunStorage): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const p of await s.list('')) out[p] = text(await s.read(p));
  return out;
}

/** Defines the contract's tests for storages made by `make` (each call a new, empty storage). */
export function describeRunStorageContract(name: string, make: () => Promise<RunStorage>): void {
  describe(`${name} (RunStorage contract)`, () => {
    it('reads back committed strings and bytes, null when absent', async () => {
      const s = await make();
      await s.commit({ 'a.txt': 'héllo', 'runs/r1/w.bin': new Uint8Array([0, 1, 255]) });
      assert.equal(text(await s.read('a.txt')), 'héllo');
      assert.deepEqual(await s.read('runs/r1/w.bin'), new Uint8Array([0, 1, 255]));
      assert.equal(await s.read('missing.txt'), null);
      assert.equal(await s.read('runs/r1'), null, 'a folder is not a file');
      assert.equal(await s.read('a.txt/x'), null);
    });

    it('stores only the bytes of a view, not the rest of its buffer', async () => {
      const s = await make();
      const buffer = new Uint8Array([9, 9, 1, 2, 3, 9]);
      await s.commit({ f: buffer.subarray(2, 5) });
      const got = (await s.read('f'))!;
      assert.deepEqual(got, new Uint8Array([1, 2, 3]));
      assert.equal(got.buffer.byteLength, 3);
    });

    it('replaces files on a later commit and leaves the others', async () => {
      const s = await make();
      await s.commit({ x: '1', y: '1' });
      await s.commit({ x: '2' });
      assert.deepEqual(await contents(s), { x: '2', y: '1' });
    });

    it('does not let callers alter stored bytes', async () => {
      const s = await make();
      const data = new Uint8Array([1, 2, 3]);
      await s.commit({ f: data });
      data[0] = 9;
      const got = (await s.read('f'))!;
      assert.deepEqual(got, new Uint8Array([1, 2, 3]));
      got[1] = 9;
      assert.deepEqual(await s.read('f'), new Uint8Array([1, 2, 3]));
    });

    it('lists the files under a folder prefix, sorted, as full paths', async () => {
      const s = await make();
      await s.commit({ 'runs/r1/b.json': '{}', 'runs/r1/a/c.json': '{}', 'runs/r10/x.json': '{}', 'runs/r1-x/y.json': '{}', 'top.json': '{}', 'Z.json': '{}' });
      assert.deepEqual(await s.list('runs/r1'), ['runs/r1/a/c.json', 'runs/r1/b.json']);
      assert.deepEqual(await s.list('runs/r1/'), ['runs/r1/a/c.json', 'runs/r1/b.json']);
      assert.deepEqual(await s.list(''), ['Z.json', 'runs/r1-x/y.json', 'runs/r1/a/c.json', 'runs/r1/b.json', 'runs/r10/x.json', 'top.json']);
      assert.deepEqual(await s.list('runs/none'), []);
      assert.deepEqual(await s.list('top.json'), [], 'a file is not a folder');
    });

    it('removes a folder, a single file, or everything', async () => {
      const s = await make();
      await s.commit({ 'runs/r1/a.json': '1', 'runs/r1/sub/b.json': '2', 'runs/r10/c.json': '3', 'keep.json': '4' });
      await s.remove('runs/r1');
      assert.deepEqual(await s.list(''), ['keep.json', 'runs/r10/c.json']);
      await s.remove('keep.json');
      assert.deepEqual(await s.list(''), ['runs/r10/c.json']);
      await s.remove('no/such/thing');
      await s.remove('');
      assert.deepEqual(await s.list(''), []);
    });

    it('rejects a commit that would make a path both a file and a folder, writing nothing', async () => {
      const s = await make();
      await s.commit({ f: '1', 'd/x': '1' });
      await assert.rejects(s.commit({ ok: '1', 'f/y': '2' }), /cannot write f\/y: f is a file/);
      await assert.rejects(s.commit({ ok: '1', 'f/y/z': '2' }), /cannot write f\/y\/z: f is a file/);
      await assert.rejects(s.commit({ ok: '1', d: '2' }), /cannot write d: it is a folder/);
      await assert.rejects(s.commit({ p: '1', 'p/q': '2' }), /cannot write both p and p\/q/);
      assert.deepEqual(await contents(s), { 'd/x': '1', f: '1' });
    });

    it('rejects paths that escape the root or break the path rules, with checkPath\'s message', async () => {
      const s = await make();
      for (const p of ['../x', 'a/../../x', 'a/..', '/etc/passwd', 'C:/x', 'a\\b', 'a//b', 'a/', './a', '', 'a\0b', '.clora-commit-1.json']) {
        const expected = (() => {
          try {
            checkPath(s.label, p);
          } catch (err) {
            return (err as Error).message;
          }
          assert.fail(`checkPath accepts ${JSON.stringify(p)}`);
        })();
        assert.ok(expected.startsWith(`${s.label}: invalid path ${JSON.stringify(p)}`), expected);
        await assert.rejects(s.commit({ [p]: 'x' }), { message: expected }, `commit ${JSON.stringify(p)}`);
        await assert.rejects(s.read(p), { message: expected }, `read ${JSON.stringify(p)}`);
      }
      await assert.rejects(s.list('../'), /".." would escape the storage root/);
      await assert.rejects(s.remove('/tmp'), /absolute paths are not allowed/);
      assert.deepEqual(await s.list(''), []);
    });

    it('reads and writes JSON files, naming the storage and path on bad JSON', async () => {
      const s = await make();
      await writeJsonFiles(s, { 'runs/r/state.json': { step: 3, scores: [[1, null]] }, 'runs/r/meta.json': 'x' });
      assert.deepEqual(await readJsonFile(s, 'runs/r/state.json'), { step: 3, scores: [[1, null]] });
      assert.equal(text(await s.read('runs/r/meta.json')), '"x"\n');
      assert.equal(await readJsonFile(s, 'runs/r/none.json'), null);
      await s.commit({ 'bad.json': '{"a": 1,' });
      await assert.rejects(readJsonFile(s, 'bad.json'), (err: Error) => err.message.startsWith(`${s.label}: bad.json: invalid JSON: `));
      await s.commit({ 'latin1.json': new Uint8Array([0x22, 0xe9, 0x22]) });
      await assert.rejects(readJsonFile(s, 'latin1.json'), new RegExp(`latin1\\.json: not valid UTF-8`));
      await assert.rejects(writeJsonFiles(s, { 'u.json': undefined }), /u\.json: value cannot be written as JSON/);
    });

    it('keeps every file of commits made at the same time', async () => {
      const s = await make();
      await Promise.all([s.commit({ 'a/1': 'a' }), s.commit({ 'b/1': 'b', 'b/2': 'b' }), s.commit({ c: 'c' })]);
      assert.deepEqual(await contents(s), { 'a/1': 'a', 'b/1': 'b', 'b/2': 'b', c: 'c' });
    });
  });
}
