// fsStorage's crash safety: commits interrupted at every step, hand-made journals and temporary files, and reopening that rolls them forward or back.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fsStorage, type CommitStep } from '../../src/cl/fs-storage.ts';

const made: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'clora-fs-'));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** Every entry under dir (files and folders, '/'-separated), including reserved ones. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      out.push(relative(dir, p).split('\\').join('/'));
      if (ent.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

const leftovers = (dir: string) => tree(dir).filter((p) => p.split('/').some((s) => s.startsWith('.clora-')));

class Crash extends Error {}

const V1 = { 'run/state.json': '{"v":1}', 'run/lora/adapter.bin': 'one', 'index.json': '[1]' };
const V2 = { 'run/state.json': '{"v":2}', 'run/lora/adapter.bin': 'two', 'index.json': '[1,2]', 'run/new.json': 'new' };

async function version(dir: string): Promise<1 | 2> {
  const s = await fsStorage(dir);
  const got: Record<string, string | null> = {};
  for (const p of Object.keys(V2)) {
    const b = await s.read(p);
    got[p] = b === null ? null : new TextDecoder().decode(b);
  }
  if (Object.keys(V2).every((p) => got[p] === V2[p as keyof typeof V2])) return 2;
  const v1 = { ...V1, 'run/new.json': null } as Record<string, string | null>;
  assert.deepEqual(got, v1, 'after reopening, the files are neither all of version 1 nor all of version 2');
  return 1;
}

describe('fsStorage crash safety', () => {
  it('calls the commit hook at every step, in order', async () => {
    const steps: string[] = [];
    const s = await fsStorage(fresh(), { onCommitStep: (st) => steps.push(st.step + ('path' in st ? `:${st.path}` : '')) });
    await s.commit({ 'a': '1', 'b/c': '2' });
    assert.deepEqual(steps, ['journal-pending', 'temp-written:a', 'temp-written:b/c', 'journal-committed', 'renamed:a', 'renamed:b/c', 'done']);
  });

  it('after a crash at any step, reopening shows all of the old version or all of the new one', async () => {
    // V2 has 4 files: 1 journal-pending + 4 temp-written + 1 journal-committed + 4 renamed + 1 done = 11 steps.
    const total = 11;
    for (let crashAt = 0; crashAt < total; crashAt++) {
      const dir = fresh();
      await (await fsStorage(dir)).commit(V1);
      let n = 0;
      let crashedStep: CommitStep | null = null;
      const s = await fsStorage(dir, {
        onCommitStep: (st) => {
          if (n++ === crashAt) {
            crashedStep = st;
            throw new Crash(`crash at ${st.step}`);
          }
        },
      });
      await assert.rejects(s.commit(V2), Crash);
      const step = (crashedStep as CommitStep | null)!.step;
      if (step !== 'done') assert.ok(leftovers(dir).length > 0, `a crash at ${step} leaves a journal behind`);
      const rolledForward = step === 'journal-committed' || step === 'renamed' || step === 'done';
      assert.equal(await version(dir), rolledForward ? 2 : 1, `crash at step ${crashAt} (${step})`);
      assert.deepEqual(leftovers(dir), [], `no journal or temporary file remains after reopening (crash at ${step})`);
      // The storage keeps working after recovery.
      const again = await fsStorage(dir);
      await again.commit(V2);
      assert.equal(await version(dir), 2);
    }
  });

  it('rolls forward a half-renamed commit from a hand-written journal and temporary files', async () => {
    const dir = fresh();
    await (await fsStorage(dir)).commit(V1);
    // As if the process died after renaming index.json: its temporary file is gone, the others remain.
    mkdirSync(join(dir, 'run'), { recursive: true });
    writeFileSync(join(dir, 'run', '.clora-tmp-x1-0'), '{"v":2}');
    writeFileSync(join(dir, 'run', 'lora', '.clora-tmp-x1-1'), 'two');
    writeFileSync(join(dir, 'index.json'), '[1,2]');
    writeFileSync(join(dir, 'run', '.clora-tmp-x1-3'), 'new');
    const journal = {
      version: 1,
      id: 'x1',
      files: [
        { path: 'run/state.json', temp: 'run/.clora-tmp-x1-0' },
        { path: 'run/lora/adapter.bin', temp: 'run/lora/.clora-tmp-x1-1' },
        { path: 'index.json', temp: '.clora-tmp-x1-2' },
        { path: 'run/new.json', temp: 'run/.clora-tmp-x1-3' },
      ],
    };
    writeFileSync(join(dir, '.clora-commit-x1.json'), JSON.stringify(journal));
    assert.equal(readFileSync(join(dir, 'run', 'state.json'), 'utf8'), '{"v":1}', 'not yet visible before reopening');
    assert.equal(await version(dir), 2);
    assert.deepEqual(leftovers(dir), []);
  });

  it('rolls back a pending journal, deleting its temporary files and keeping the old version', async () => {
    const dir = fresh();
    await (await fsStorage(dir)).commit(V1);
    writeFileSync(join(dir, 'run', '.clora-tmp-y-0'), '{"v":2}');
    const journal = { version: 1, id: 'y', files: [{ path: 'run/state.json', temp: 'run/.clora-tmp-y-0' }, { path: 'index.json', temp: '.clora-tmp-y-1' }] };
    writeFileSync(join(dir, '.clora-commit-y.pending.json'), JSON.stringify(journal));
    assert.equal(await version(dir), 1);
    assert.deepEqual(leftovers(dir), []);
  });

  it('discards a torn pending journal and stray temporary files and trash', async () => {
    const dir = fresh();
    await (await fsStorage(dir)).commit(V1);
    writeFileSync(join(dir, '.clora-commit-z.pending.json'), '{"version":1,"id":"z","fi');
    writeFileSync(join(dir, 'run', 'lora', '.clora-tmp-orphan-0'), 'junk');
    mkdirSync(join(dir, '.clora-trash-old', 'sub'), { recursive: true });
    writeFileSync(join(dir, '.clora-trash-old', 'sub', 'f'), 'x');
    assert.equal(await version(dir), 1);
    assert.deepEqual(leftovers(dir), []);
  });

  it('refuses to open a folder whose committed journal is unreadable or points outside it', async () => {
    const dir = fresh();
    writeFileSync(join(dir, '.clora-commit-w.json'), 'not json');
    await assert.rejects(fsStorage(dir), /\.clora-commit-w\.json: unreadable commit journal .*cannot be completed/);

    const dir2 = fresh();
    const outside = join(dir2, '..', `clora-escape-${Date.now()}`);
    writeFileSync(join(dir2, '.clora-tmp-e-0'), 'x');
    writeFileSync(join(dir2, '.clora-commit-e.json'), JSON.stringify({ version: 1, id: 'e', files: [{ path: `../${outside.split('/').pop()}`, temp: '.clora-tmp-e-0' }] }));
    await assert.rejects(fsStorage(dir2), /unreadable commit journal \(.*".." would escape the storage root/);
    assert.equal(existsSync(outside), false);
  });

  it('cleans up after an ordinary failure before the commit point', async () => {
    const dir = fresh();
    const s = await fsStorage(dir);
    await s.commit(V1);
    // Make the second file's folder impossible to create: the commit fails while writing temporary files.
    const failing = await fsStorage(dir, {
      onCommitStep: (st) => {
        if (st.step === 'temp-written') writeFileSync(join(dir, 'blocker'), 'a file where a folder is needed');
      },
    });
    await assert.rejects(failing.commit({ 'a.json': 'A', 'blocker/b.json': 'B' }), /ENOTDIR|EEXIST/);
    assert.deepEqual(leftovers(dir), [], 'temporary files and the pending journal are removed at once');
    assert.equal(await (await fsStorage(dir)).read('a.json'), null);
    assert.equal(await version(dir), 1);
  });

  it('never writes outside its folder', async () => {
    const parent = fresh();
    const root = join(parent, 'root');
    const s = await fsStorage(root);
    await assert.rejects(s.commit({ '../sibling.txt': 'x' }), /escape/);
    await assert.rejects(s.commit({ 'ok.txt': 'x', [join(parent, 'abs.txt')]: 'x' }), /absolute/);
    assert.deepEqual(tree(parent), ['root']);
  });
});
