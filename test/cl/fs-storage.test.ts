// fsStorage's crash safety: commits interrupted at every step, hand-made journals and temporary files, and reopening that rolls them forward or back.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fsStorage, type CommitStep } from '../../src/cl/fs-storage.ts';
import { withDeadline } from '../../src/io/node-folders.ts';

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
    await assert.rejects(failing.commit({ 'a.json': 'A', 'blocker/b.json': 'B' }), /blocker is a file/);
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

/** An error as the file system gives it: `code` set, Node's message. */
const fsError = (code: string) => Object.assign(new Error(`${code}: simulated, write`), { code });

describe('fsStorage write failures a user can fix', () => {
  it('names the file a full disk stopped, says what to do, and keeps nothing of the commit', async () => {
    const dir = fresh();
    await (await fsStorage(dir)).commit(V1);
    let writes = 0;
    const full = await fsStorage(dir, {
      // The disk fills up at every second temporary file: ENOSPC comes from the write that does not fit.
      beforeWrite: (file) => {
        if (file.includes('.clora-tmp-') && !file.includes('probe') && ++writes % 2 === 0) throw fsError('ENOSPC');
      },
    });
    const err = await full.commit(V2).then(() => null, (e: unknown) => e as Error & { code?: string; path?: string });
    assert.ok(err, 'the commit must fail');
    const second = join(dir, ...Object.keys(V2)[1].split('/'));
    assert.equal(err.message, `writing ${second} failed: the disk is full (ENOSPC); free some space on that disk, or choose a folder on another one. Nothing of this write was kept; the files written before are intact.`);
    assert.equal(err.code, 'ENOSPC');
    assert.equal(err.path, second);
    assert.deepEqual(leftovers(dir), [], 'no temporary file or journal is left');
    assert.equal(await version(dir), 1);
    // A commit into new folders leaves none of them behind either.
    await assert.rejects(full.commit({ 'new/deeper/a.json': 'A', 'new/deeper/b.json': 'B' }), /^Error: writing .*b\.json failed: the disk is full/);
    assert.ok(!existsSync(join(dir, 'new')), 'the folders the failed commit created are removed');
  });

  for (const [code, says] of [['EDQUOT', /the disk quota is used up \(EDQUOT\); delete some files/], ['EROFS', /the file system is read-only \(EROFS\); choose a folder on a writable disk/], ['EACCES', /permission denied \(EACCES\); choose a folder you may write to/]] as const) {
    it(`names the folder when the journal cannot be written (${code})`, async () => {
      const dir = fresh();
      await (await fsStorage(dir)).commit(V1);
      const s = await fsStorage(dir, { beforeWrite: (file) => { if (file.includes('.clora-commit-')) throw fsError(code); } });
      await assert.rejects(s.commit(V2), (e: Error) => {
        assert.match(e.message, new RegExp(`^writing the commit journal into the folder ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} failed: `));
        assert.match(e.message, says);
        return true;
      });
      assert.deepEqual(leftovers(dir), []);
      assert.equal(await version(dir), 1);
    });
  }

  it('refuses at opening a folder it cannot write, naming it, before any work', async () => {
    const dir = fresh();
    await assert.rejects(fsStorage(dir, { beforeWrite: () => { throw fsError('EROFS'); } }),
      new RegExp(`^Error: writing a test file in the folder ${dir} failed: the file system is read-only \\(EROFS\\)`));
    assert.deepEqual(tree(dir), [], 'the probe file is gone');
  });

  it('fails at once, naming the folder, where mkdir never settles (/proc)', async () => {
    const t0 = performance.now();
    // Node's recursive mkdir spins forever here: the kernel answers ENOENT although /proc exists.
    await assert.rejects(fsStorage('/proc/clora-out/run'), /^Error: creating the folder \/proc\/clora-out failed: its parent exists but the file system there does not take new folders \(ENOENT\)/);
    assert.ok(performance.now() - t0 < 5000, 'no hang');
  });

  it('gives up opening after its deadline on a file system that never answers', async () => {
    const never = new Promise<never>(() => {});
    await assert.rejects(withDeadline(never, 50, () => 'the folder did not answer'), /^Error: the folder did not answer$/);
    assert.equal(await withDeadline(Promise.resolve(7), 50, () => 'late'), 7);
  });

  it('does not recreate a folder removed while a run writes to it', async () => {
    const parent = fresh();
    const dir = join(parent, 'out');
    const s = await fsStorage(dir);
    await s.commit(V1);
    rmSync(dir, { recursive: true });
    await assert.rejects(s.commit(V2), new RegExp(`^Error: ${dir}: the folder was removed while the run was writing to it; nothing was written and it was not recreated$`));
    assert.deepEqual(tree(parent), []);
  });
});
