// `clora run --out` on a folder it cannot create or write fails at once, before the GPU is opened, naming the folder.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TINY_MODEL } from '../helpers/clora-run.ts';
import { conflictingStream } from '../helpers/streams.ts';

describe('clora run --out', () => {
  it('fails at once, naming the folder, under /proc (where Node\'s recursive mkdir never settles)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'clora-out-'));
    const file = join(dir, 'exp.json');
    writeFileSync(file, JSON.stringify({ model: TINY_MODEL, tasks: conflictingStream(dir, 1, undefined, 8), methods: ['seqlora'], steps: 1, batchSize: 2 }));
    const t0 = performance.now();
    // The timeout is the test's guard against the hang this fixes; the run must end long before it.
    const res = spawnSync(process.execPath, [join(ROOT, 'bin', 'clora.js'), 'run', file, '--out', '/proc/clora-run/out'], { encoding: 'utf8', timeout: 60_000 });
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(res.signal, null, `clora run hung (killed after ${seconds.toFixed(0)} s)`);
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /creating the folder \/proc\/clora-run failed: its parent exists but the file system there does not take new folders \(ENOENT\); choose a folder on an ordinary writable disk/);
    assert.doesNotMatch(res.stderr, /WebGPU adapter/, 'refused before the GPU was opened');
  });
});
