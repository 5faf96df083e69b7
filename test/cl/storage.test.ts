// The RunStorage contract (test/helpers/storage-contract.ts) run against the in-memory and the filesystem implementations, and checkPath.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPath, memoryStorage, type RunStorage } from '../../src/cl/storage.ts';
import { describeRunStorageContract } from '../helpers/storage-contract.ts';
import { fsStorage } from '../../src/cl/fs-storage.ts';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const implementations: [string, () => Promise<RunStorage>][] = [
  ['memoryStorage', async () => memoryStorage()],
  [
    'fsStorage',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'clora-storage-'));
      made.push(dir);
      return fsStorage(dir);
    },
  ],
];

for (const [name, make] of implementations) describeRunStorageContract(name, make);

describe('checkPath', () => {
  it('normalises folder prefixes and names the label', () => {
    assert.equal(checkPath('L', 'runs/r1/', true), 'runs/r1');
    assert.equal(checkPath('L', '', true), '');
    assert.equal(checkPath('L', 'a/b.json'), 'a/b.json');
    assert.throws(() => checkPath('L', ''), /^Error: L: invalid path "": empty$/);
    assert.throws(() => checkPath('L', 'runs/r1/'), /empty folder name/);
  });
});
